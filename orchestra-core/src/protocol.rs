//! The daemon's wire protocol: one JSON [`Envelope`] per line from a client (the request
//! with the protocol version it is written in), answered by a stream of JSON [`Event`]s, one
//! per line, ending with [`Event::Done`].
//!
//! # Versions
//!
//! A daemon outlives the binary that started it: after an upgrade, the new `orchestra`
//! finds the old daemon still serving the project. Each side refuses the other's version
//! rather than guess at its shapes: the daemon reads the envelope's `protocol` before the
//! request and answers another one (or none: protocol 1 sent a bare request) with
//! [`Event::Error`]; every event that can come first says the daemon's version, so a client
//! refuses a daemon of another one, and an error without a version comes from a daemon
//! older than this field (it cannot read an envelope, so it did nothing).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::event::FleetEvent;
use crate::name::{ServiceName, VendorName};
use crate::spec::ProjectSpec;
use crate::state::ReplicaStatus;

/// Version of the protocol; a client and a daemon of different versions refuse each other.
/// 2: requests travel in an [`Envelope`], and the daemon's first event says its version.
pub const PROTOCOL_VERSION: u32 = 2;

/// One request line: the request and the protocol version of the client that wrote it,
/// `{"protocol":2,"request":{"request":"status"}}`. A client writes it around a borrowed
/// request (`Envelope<&Request>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<R = Request> {
    /// The client's [`PROTOCOL_VERSION`].
    pub protocol: u32,
    /// What it asks.
    pub request: R,
}

impl<R> Envelope<R> {
    /// `request`, in this build's protocol version.
    pub fn new(request: R) -> Self {
        Self {
            protocol: PROTOCOL_VERSION,
            request,
        }
    }
}

/// The version a request line was written in, read before the request itself, whose shape
/// may differ from one version to another. `None`: the line is a bare request of
/// protocol 1, or no version at all.
#[derive(Debug, Deserialize)]
pub struct VersionOf {
    /// The client's version, when it said one.
    #[serde(default)]
    pub protocol: Option<u32>,
}

/// A start, as `orchestra start` asks for it: what [`Request::Start`] carries, and what
/// the daemon's runtime takes as it is. Its fields sit beside the `request` tag on the
/// wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartRequest {
    /// The project as the client resolved it.
    pub project: Box<ProjectSpec>,
    /// The services asked for (all when empty), with what they depend on.
    pub services: Vec<ServiceName>,
    /// Replica counts that override the configuration.
    pub scale: BTreeMap<ServiceName, u32>,
    /// Skip the build step.
    pub no_build: bool,
    /// Rebuild and replace services when their files change (`--rerun`).
    #[serde(default)]
    pub rerun: bool,
    /// Refuse to start when copies of a service run outside Orchestra, instead of
    /// stopping them (`--keep-strays`).
    #[serde(default)]
    pub keep_strays: bool,
    /// Run the services in Docker containers (`--docker`).
    #[serde(default)]
    pub docker: bool,
}

/// What a client asks of the daemon. An empty `services` list means every service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    /// Build (unless `no_build`) and start services, with their dependencies.
    Start(StartRequest),
    /// Stop services (all when empty).
    Stop {
        /// The services to stop.
        services: Vec<ServiceName>,
    },
    /// Rebuild and replace services.
    Restart {
        /// The project as the client resolved it.
        project: Box<ProjectSpec>,
        /// The services to restart.
        services: Vec<ServiceName>,
    },
    /// Change replica counts.
    Scale {
        /// The project as the client resolved it.
        project: Box<ProjectSpec>,
        /// New replica counts.
        scale: BTreeMap<ServiceName, u32>,
    },
    /// Bring vendor containers up (idempotent) and stream their logs.
    VendorsUp {
        /// The project as the client resolved it.
        project: Box<ProjectSpec>,
        /// The vendors (all when empty).
        vendors: Vec<VendorName>,
    },
    /// Stop and remove vendor containers.
    VendorsDown {
        /// The project as the client resolved it.
        project: Box<ProjectSpec>,
        /// The vendors (all when empty).
        vendors: Vec<VendorName>,
        /// Also remove their named volumes.
        volumes: bool,
    },
    /// Report every replica's status.
    Status,
    /// Stream the fleet's events ([`Event::Fleet`]) as they happen, until the client hangs
    /// up. What `ps --watch`, `why` and the terminal UI read; it does not keep an idle
    /// daemon alive (the stream then ends with [`Event::Done`]).
    Subscribe,
    /// Stop everything and exit.
    Shutdown,
}

/// A step a service or replica went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Its build started.
    Building,
    /// Its build succeeded.
    Built,
    /// Its build failed.
    BuildFailed,
    /// The service waits for a dependency before it starts.
    Waiting,
    /// A replica was spawned.
    Starting,
    /// A replica passed its readiness probe.
    Ready,
    /// A replica failed to start or become ready.
    Failed,
    /// A replica ended and waits to be restarted.
    Backoff,
    /// A replica was given up on.
    Crashed,
    /// A replica is being stopped.
    Stopping,
    /// A replica is stopped.
    Stopped,
    /// A replica ended by itself with code 0.
    Exited,
    /// Something the fleet had made was removed (an image, a network).
    Removed,
}

/// A progress event about a service or one of its replicas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Service or vendor name.
    pub unit: String,
    /// The replica, when the event is about one.
    pub replica: Option<u32>,
    /// What happened.
    pub phase: Phase,
    /// Details: a pid, a reason, a duration.
    pub message: Option<String>,
}

/// Why a service failed, with the end of its log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Service or vendor name.
    pub unit: String,
    /// What went wrong.
    pub reason: String,
    /// The last lines of its log (or of its build output).
    pub log_tail: Vec<String>,
}

/// What the daemon answers, as a stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The daemon read the request and is carrying it out: sent first, at once, so that a
    /// client can tell a busy daemon from a frozen one.
    Accepted {
        /// The daemon's [`PROTOCOL_VERSION`].
        protocol: u32,
    },
    /// A step of progress.
    Progress(Progress),
    /// Every replica's status (the answer to [`Request::Status`]).
    Status {
        /// One row per replica and vendor.
        replicas: Vec<ReplicaStatus>,
    },
    /// Something about the daemon itself that its user should know (with `Status`): its
    /// own log cannot be written, for one.
    Warning {
        /// What is wrong, in a few words.
        message: String,
    },
    /// Something happened in the fleet (the answer to [`Request::Subscribe`]); its fields
    /// sit beside the `event` tag: `{"event":"fleet","kind":"ready","replica":…,"pid":…}`.
    Fleet(FleetEvent),
    /// The subscriber fell behind and missed these many events (the daemon never waits
    /// for a slow reader); what follows is current again.
    Missed {
        /// How many.
        count: u64,
    },
    /// The request is finished.
    Done {
        /// Whether everything asked for succeeded.
        ok: bool,
        /// What failed.
        failures: Vec<Failure>,
    },
    /// The request was refused before anything started, as bad usage (exit 2): replica
    /// counts whose ports clash, or over the limit.
    Refused {
        /// Why.
        message: String,
        /// How to fix it.
        help: Option<String>,
    },
    /// The request could not be carried out at all.
    Error {
        /// Why.
        message: String,
        /// The daemon's [`PROTOCOL_VERSION`]; absent from the errors of a daemon of
        /// protocol 1.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        protocol: Option<u32>,
    },
}

impl Event {
    /// The request could not be carried out: [`Event::Error`] from a daemon of this version.
    pub fn error(message: impl Into<String>) -> Self {
        Self::Error {
            message: message.into(),
            protocol: Some(PROTOCOL_VERSION),
        }
    }

    /// The daemon read the request: [`Event::Accepted`] from a daemon of this version.
    pub fn accepted() -> Self {
        Self::Accepted {
            protocol: PROTOCOL_VERSION,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_events_are_tagged_json_lines() {
        let line = serde_json::to_string(&Request::Stop { services: vec![] }).unwrap();
        assert_eq!(line, r#"{"request":"stop","services":[]}"#);
        let ev = Event::Done {
            ok: true,
            failures: vec![],
        };
        let back: Event = serde_json::from_str(&serde_json::to_string(&ev).unwrap()).unwrap();
        assert_eq!(back, ev);
        let ev = Event::Fleet(FleetEvent::Stopping {
            replica: crate::ReplicaId::new(ServiceName::new("api").unwrap(), 0),
        });
        let line = serde_json::to_string(&ev).unwrap();
        assert_eq!(
            line,
            r#"{"event":"fleet","kind":"stopping","replica":{"service":"api","index":0}}"#
        );
        let back: Event = serde_json::from_str(&line).unwrap();
        assert_eq!(back, ev);
    }

    #[test]
    fn a_start_request_keeps_its_fields_beside_the_tag() {
        // As clients of this protocol have always sent it (the flags they did not know of
        // left out).
        let line = r#"{"request":"start","project":{"name":"p","root":"/p","file":"/p/orchestra.yml","state_dir":"/p/.orchestra","env":{},"hooks":{"before":[],"after":[]},"services":{},"vendors":{},"logs":{"max_size":1,"keep":1},"acceptance":null},"services":["api"],"scale":{},"no_build":true}"#;
        let Ok(Request::Start(start)) = serde_json::from_str::<Request>(line) else {
            panic!("not read as a start: {line}");
        };
        assert_eq!(start.services, [ServiceName::new("api").unwrap()]);
        assert!(start.no_build && !start.rerun && !start.docker);
        let again: serde_json::Value =
            serde_json::to_value(Request::Start(start)).expect("a start writes");
        assert_eq!(again["request"], "start");
        assert_eq!(again["services"], serde_json::json!(["api"]));
        assert_eq!(again["project"]["name"], "p");
    }

    #[test]
    fn a_request_line_says_its_version_before_the_request() {
        let line = serde_json::to_string(&Envelope::new(Request::Status)).unwrap();
        assert_eq!(line, r#"{"protocol":2,"request":{"request":"status"}}"#);
        let version: VersionOf = serde_json::from_str(&line).unwrap();
        assert_eq!(version.protocol, Some(PROTOCOL_VERSION));
        // Protocol 1 sent the bare request.
        let version: VersionOf = serde_json::from_str(r#"{"request":"status"}"#).unwrap();
        assert_eq!(version.protocol, None);
        // A daemon of protocol 1 reads an envelope as a request and fails, doing nothing.
        assert!(serde_json::from_str::<Request>(&line).is_err());
    }

    #[test]
    fn first_events_say_the_daemons_version() {
        let line = serde_json::to_string(&Event::accepted()).unwrap();
        assert_eq!(line, r#"{"event":"accepted","protocol":2}"#);
        // The error of a daemon of protocol 1 has no version.
        let old: Event = serde_json::from_str(r#"{"event":"error","message":"no"}"#).unwrap();
        assert!(matches!(old, Event::Error { protocol: None, .. }));
        let line = serde_json::to_string(&Event::error("no")).unwrap();
        assert_eq!(line, r#"{"event":"error","message":"no","protocol":2}"#);
    }
}
