//! What every Docker test needs: an engine (or a reasoned skip), the locally built test
//! images, a unique project cleaned up even when the test fails, free ports, and polling.

use std::future::Future;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use orchestra_core::policy::RestartPolicy;
use orchestra_core::spec::{PortMapping, VendorReady, VendorSpec};
use orchestra_core::{ProjectName, VendorName};
use orchestra_vendors::{Docker, Vendors};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

pub const REDIS_IMAGE: &str = "orchestra-test/redis:7";

/// The engine, or `None` after printing why the test is skipped. With
/// `ORCHESTRA_REQUIRE_DOCKER=1` a missing engine fails the test instead.
pub async fn engine_or_skip() -> Option<Docker> {
    match orchestra_vendors::connect().await {
        Ok(docker) => {
            build_test_images();
            Some(docker)
        }
        Err(e) => {
            let socket = std::env::var("DOCKER_HOST")
                .unwrap_or_else(|_| orchestra_vendors::DEFAULT_HOST.to_owned());
            assert!(
                std::env::var("ORCHESTRA_REQUIRE_DOCKER").as_deref() != Ok("1"),
                "ORCHESTRA_REQUIRE_DOCKER=1 but no Docker engine answers at {socket}: {e}"
            );
            println!("skipping: no Docker engine answers at {socket}");
            None
        }
    }
}

/// Runs scripts/build-test-images once per test process (the script itself serialises
/// concurrent runs from other test binaries).
fn build_test_images() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let script = workspace_root().join("scripts/build-test-images");
        let status = Command::new(&script)
            .status()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(status.success(), "{} failed: {status}", script.display());
    });
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate lives in the workspace")
        .to_owned()
}

/// A project name no other test (or earlier run) uses.
pub fn unique_project(test: &str) -> ProjectName {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    ProjectName::new(format!("vt-{test}-{}-{n}", std::process::id())).expect("valid project name")
}

/// A project's vendors, taken down with their volumes when dropped (even on a panic).
pub struct Project {
    pub vendors: Vendors,
    pub name: ProjectName,
}

impl Project {
    pub fn new(docker: Docker, test: &str) -> Self {
        let name = unique_project(test);
        Self {
            vendors: Vendors::new(docker, name.clone()),
            name,
        }
    }
}

impl std::ops::Deref for Project {
    type Target = Vendors;
    fn deref(&self) -> &Vendors {
        &self.vendors
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        // The test's runtime may be gone or busy unwinding: clean up on a runtime of our own.
        let vendors = self.vendors.clone();
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cleanup runtime");
            rt.block_on(vendors.down(&[], true))
        })
        .join();
        if let Ok(Err(e)) = done {
            eprintln!("cleanup of project {} failed: {e}", self.name);
        }
    }
}

/// A TCP port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

pub fn vendor(name: &str) -> VendorName {
    VendorName::new(name).expect("valid vendor name")
}

/// A Redis vendor from the locally built image, published on a free port, with a TCP probe.
pub fn redis(name: &str) -> VendorSpec {
    VendorSpec {
        name: vendor(name),
        image: REDIS_IMAGE.into(),
        command: None,
        entrypoint: None,
        ports: vec![PortMapping {
            host: free_port(),
            container: 6379,
        }],
        env: orchestra_core::spec::Env::new(),
        volumes: vec![],
        ready: Some(VendorReady::Tcp(6379)),
        ready_timeout: Duration::from_secs(30),
        restart: RestartPolicy::OnFailure,
        stop_timeout: Duration::from_secs(5),
    }
}

/// A progress channel whose events the test may look at afterwards.
pub fn events() -> (
    tokio::sync::mpsc::UnboundedSender<orchestra_core::protocol::Progress>,
    UnboundedReceiver<orchestra_core::protocol::Progress>,
) {
    unbounded_channel()
}

/// Sends inline Redis commands over TCP and returns the first line of each answer.
pub fn redis_say(port: u16, commands: &[&str]) -> Vec<String> {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to redis");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("read timeout");
    let mut writer = stream.try_clone().expect("clone the stream");
    let mut reader = BufReader::new(stream);
    commands
        .iter()
        .map(|command| {
            writer
                .write_all(format!("{command}\r\n").as_bytes())
                .expect("send to redis");
            let mut line = String::new();
            reader.read_line(&mut line).expect("read redis's answer");
            if line.starts_with('$') && !line.starts_with("$-1") {
                line.clear();
                reader.read_line(&mut line).expect("read the bulk string");
            }
            line.trim_end().to_owned()
        })
        .collect()
}

/// Polls `check` every 50 ms until it returns `Some`, or panics after `timeout`.
pub async fn wait_until<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The whole error chain, as a CLI would print it.
pub use orchestra_core::chain::error_chain as chain;
