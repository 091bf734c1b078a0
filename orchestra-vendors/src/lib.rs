//! Vendor containers for Orchestra: the third-party software a fleet depends on
//! (PostgreSQL, Redis, RabbitMQ…), run in Docker through the Engine API.
//!
//! **For** bringing a project's vendors up (pulled, started, ready), keeping them across
//! runs while their settings do not change, and taking them down. **Not for** the project's
//! own services (`orchestra-supervisor` runs those as processes; this crate only builds the
//! scratch image they run in under `--docker`), nor for containers it did not create: it
//! finds and touches only those labelled with its project.
//!
//! The shortest use: `let vendors = Vendors::new(connect().await?, project);`, then
//! `vendors.up(&specs, progress).await?` and `vendors.down(&[], false).await?` (the example
//! below).
//!
//! # How it works
//!
//! [`connect`] finds the engine (`DOCKER_HOST`, else the default unix socket) and pings it,
//! so a missing engine is one clear [`VendorError::NoEngine`] up front. [`Vendors`] then
//! manages one project's containers, which it finds again by name and label alone, with no
//! local state:
//!
//! - each vendor runs in a container named `orchestra-<project>-<vendor>`, labelled
//!   `orchestra.project`, `orchestra.vendor` and `orchestra.config-hash` (a stable hash of the
//!   container-shaping part of its [`VendorSpec`](orchestra_core::spec::VendorSpec)), on the
//!   bridge network `orchestra-<project>` where its vendor name is its alias;
//! - [`Vendors::up`] is idempotent: a running container with the same hash and image is
//!   kept, a stopped one started, a changed one recreated; a missing image is pulled with
//!   progress events; then each vendor's readiness check (TCP to the published port, HTTP,
//!   a command run inside the container, or the image's HEALTHCHECK) is polled every 100 ms
//!   until it passes, the container exits (its last output goes into the error) or
//!   `ready_timeout` runs out;
//! - ports are published on 127.0.0.1 only; named volumes are `orchestra-<project>-<name>`,
//!   labelled, and survive [`Vendors::down`] unless asked to go;
//! - [`Vendors::logs_to_file`] streams a container's output into its log file;
//! - [`Vendors::build_scratch_image`] makes a FROM-scratch image from a static binary, with
//!   the build context made in memory, for services run with `--docker`.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use orchestra_core::policy::RestartPolicy;
//! use orchestra_core::spec::{PortMapping, VendorReady, VendorSpec};
//! use orchestra_core::{ProjectName, VendorName};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let redis = VendorSpec {
//!     name: VendorName::new("redis")?,
//!     image: "redis:7".into(),
//!     command: None,
//!     entrypoint: None,
//!     ports: vec![PortMapping { host: 6379, container: 6379 }],
//!     env: Default::default(),
//!     volumes: vec![],
//!     ready: Some(VendorReady::Tcp(6379)),
//!     ready_timeout: Duration::from_secs(30),
//!     restart: RestartPolicy::OnFailure,
//!     stop_timeout: Duration::from_secs(10),
//! };
//! let vendors = orchestra_vendors::Vendors::new(
//!     orchestra_vendors::connect().await?,
//!     ProjectName::new("shop")?,
//! );
//! let (events, mut progress) =
//!     tokio::sync::mpsc::unbounded_channel::<orchestra_core::protocol::Progress>();
//! tokio::spawn(async move {
//!     while let Some(p) = progress.recv().await {
//!         println!("{}: {:?} {}", p.unit, p.phase, p.message.unwrap_or_default());
//!     }
//! });
//! let up = vendors.up(&[redis], events).await?;
//! println!("redis ready in {:?} on {:?}", up[0].ready_after, up[0].ports);
//! vendors.down(&[], false).await?;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

pub mod backend;
mod client;
mod container;
mod error;
pub mod exec;
mod image;
mod inspect;
mod logs;
mod names;
mod network;
mod ready;
mod status;
mod vendors;
mod volume;

pub use backend::{DockerReplica, DockerSupervisor};
pub use client::{DEFAULT_HOST, Docker, connect, connect_to};
pub use container::config_hash;
pub use error::VendorError;
pub use names::{
    LABEL_CONFIG_HASH, LABEL_PROJECT, LABEL_VENDOR, container_name, network_name, volume_name,
};
pub use ready::INTERVAL as READY_INTERVAL;
pub use vendors::{ProjectContainer, TakenDown, UpAction, VendorStatus, Vendors};
