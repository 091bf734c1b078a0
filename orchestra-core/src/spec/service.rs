//! Services, fully resolved, and the replicas they fill in.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{CommandSpec, Env, ReadyCheck, ReadyProbe};
use crate::name::{ReplicaId, ServiceName, VendorName};
use crate::policy::{BackoffPolicy, RestartPolicy};
use crate::signal::Signal;
use crate::template::{Placeholders, interpolate};

/// Something a service depends on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dependency {
    /// Another service of the project.
    Service(ServiceName),
    /// A vendor container.
    Vendor(VendorName),
}

impl fmt::Display for Dependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Service(s) => s.fmt(f),
            Self::Vendor(v) => v.fmt(f),
        }
    }
}

/// Reload-on-change settings of a service.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RerunSpec {
    /// Rerun even without `--rerun`.
    pub enabled: bool,
    /// Run the unit tests after the build and before replacing replicas.
    pub test: bool,
    /// Quiet period that collapses a burst of changes into one rebuild.
    #[serde(with = "crate::duration::human")]
    pub debounce: Duration,
}

impl Default for RerunSpec {
    fn default() -> Self {
        Self {
            enabled: false,
            test: false,
            debounce: Duration::from_millis(100),
        }
    }
}

/// How a service runs under `--docker`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct DockerSpec {
    /// An image to mount the binary into, instead of building a minimal one.
    pub image: Option<String>,
}

/// A run-once service (`task: true`): one replica, never restarted, and "ready" only once it
/// exited 0, so that what depends on it (a migration, a seed) starts after it finished.
///
/// How an export should carry it: in Compose, the task gets `restart: "no"` and each
/// dependant `depends_on: {<task>: {condition: service_completed_successfully}}`; in
/// Kubernetes, the task becomes a Job (`restartPolicy: Never`, `backoffLimit: 0`,
/// `activeDeadlineSeconds` from `timeout`) and each dependant's Deployment an init container
/// that waits for the Job to complete (`kubectl wait --for=condition=complete job/<task>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TaskSpec {
    /// How long it may run before it is stopped and counted as failed.
    #[serde(with = "crate::duration::human")]
    pub timeout: Duration,
}

impl TaskSpec {
    /// How long a task may run unless it says otherwise: long enough for a slow migration,
    /// short enough that a hung one does not hold its dependants forever.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10 * 60);
}

impl Default for TaskSpec {
    fn default() -> Self {
        Self {
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }
}

/// What kind of program a service is, which decides its defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    /// A Go package: built with `go build`, tested with `go test`.
    Go,
    /// Any other program, run by its `run:` command.
    Command,
}

/// One service, fully resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSpec {
    /// Its name.
    pub name: ServiceName,
    /// Its folder: the working directory of its build, run and test commands.
    pub dir: PathBuf,
    /// The `service.yml` it came from.
    pub file: PathBuf,
    /// Go or plain command.
    pub kind: ServiceKind,
    /// Merged environment, before the per-replica variables.
    pub env: Env,
    /// The build command, run once before replicas start.
    pub build: Option<CommandSpec>,
    /// The command of each replica (placeholders `{replica}` and `{port}` still unfilled).
    pub run: CommandSpec,
    /// The unit test command.
    pub test: Option<CommandSpec>,
    /// The acceptance test command.
    pub acceptance: Option<CommandSpec>,
    /// The built binary (`{bin}`), for Go services and any `build` that names one.
    pub binary: Option<PathBuf>,
    /// Number of replicas.
    pub scale: u32,
    /// The base port: replica n listens on `port + n`.
    pub port: Option<u16>,
    /// Readiness probe, if any.
    pub ready: Option<ReadyProbe>,
    /// Restart policy.
    pub restart: RestartPolicy,
    /// Backoff between restarts.
    pub backoff: BackoffPolicy,
    /// Signal sent first when stopping.
    pub stop_signal: Signal,
    /// How long to wait after the stop signal before SIGKILL.
    #[serde(with = "crate::duration::human")]
    pub stop_timeout: Duration,
    /// Globs (relative to `dir`) whose changes trigger a rerun.
    pub watch: Vec<String>,
    /// Globs excluded from `watch`.
    pub ignore: Vec<String>,
    /// Reload-on-change settings.
    pub rerun: RerunSpec,
    /// What must be ready before this service starts.
    pub depends_on: Vec<Dependency>,
    /// Docker mode settings.
    pub docker: DockerSpec,
    /// Set when the service is a run-once task rather than a long-running process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskSpec>,
}

/// One replica of a service, with every per-replica value filled: what a backend spawns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaSpec {
    /// Which replica.
    pub id: ReplicaId,
    /// Working directory.
    pub dir: PathBuf,
    /// The command with placeholders filled.
    pub command: CommandSpec,
    /// Full environment to add to Orchestra's own: service env plus PORT, ORCHESTRA_REPLICA,
    /// ORCHESTRA_SERVICE.
    pub env: Env,
    /// This replica's port.
    pub port: Option<u16>,
    /// The probe with `$PORT` and friends filled.
    pub ready: Option<ReadyProbe>,
    /// Signal sent first when stopping.
    pub stop_signal: Signal,
    /// Grace before SIGKILL.
    #[serde(with = "crate::duration::human")]
    pub stop_timeout: Duration,
}

impl ServiceSpec {
    /// How long a service gets between its stop signal and SIGKILL unless it says otherwise.
    pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(10);

    /// A plain command service in `dir` running `run`, with what a `service.yml` that says
    /// nothing more gets: one replica, no port, no probe, restart on failure with the
    /// default backoff, SIGTERM then [`Self::DEFAULT_STOP_TIMEOUT`]. For embedding the
    /// supervisor without a configuration file; change fields with struct update syntax.
    ///
    /// ```
    /// use orchestra_core::ServiceName;
    /// use orchestra_core::spec::{CommandSpec, ServiceSpec};
    ///
    /// let web = ServiceSpec {
    ///     scale: 2,
    ///     ..ServiceSpec::command(ServiceName::new("web")?, "/srv/web", CommandSpec::Shell("./web".into()))
    /// };
    /// assert_eq!(web.replica(1).id.to_string(), "web.1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn command(name: ServiceName, dir: impl Into<PathBuf>, run: CommandSpec) -> Self {
        let dir = dir.into();
        Self {
            name,
            file: dir.join("service.yml"),
            dir,
            kind: ServiceKind::Command,
            env: Env::new(),
            build: None,
            run,
            test: None,
            acceptance: None,
            binary: None,
            scale: 1,
            port: None,
            ready: None,
            restart: RestartPolicy::OnFailure,
            backoff: BackoffPolicy::default(),
            stop_signal: Signal::TERM,
            stop_timeout: Self::DEFAULT_STOP_TIMEOUT,
            watch: Vec::new(),
            ignore: Vec::new(),
            rerun: RerunSpec::default(),
            depends_on: Vec::new(),
            docker: DockerSpec::default(),
            task: None,
        }
    }

    /// Whether this service runs once to completion (`task: true`).
    pub fn is_task(&self) -> bool {
        self.task.is_some()
    }

    /// The placeholder values of replica `index`.
    pub fn placeholders(&self, index: Option<u32>) -> Placeholders<'_> {
        Placeholders {
            bin: self.binary.as_deref().and_then(|p| p.to_str()),
            name: self.name.as_str(),
            replica: index,
            port: index.and_then(|i| self.replica_port(i)),
        }
    }

    /// The port of replica `index`: `port + index`, if the service has a port and it fits.
    pub fn replica_port(&self, index: u32) -> Option<u16> {
        self.port
            .and_then(|p| u16::try_from(u32::from(p) + index).ok())
    }

    /// Everything needed to spawn replica `index`.
    pub fn replica(&self, index: u32) -> ReplicaSpec {
        let port = self.replica_port(index);
        let mut env = self.env.clone();
        if let Some(port) = port {
            env.insert("PORT".into(), port.to_string());
        }
        env.insert("ORCHESTRA_REPLICA".into(), index.to_string());
        env.insert("ORCHESTRA_SERVICE".into(), self.name.to_string());
        let placeholders = self.placeholders(Some(index));
        let fill = |s: &str| {
            interpolate(s, |k| env.get(k).cloned().or_else(|| std::env::var(k).ok()))
                .unwrap_or_else(|_| s.to_owned())
        };
        let ready = self.ready.as_ref().map(|probe| ReadyProbe {
            check: match &probe.check {
                ReadyCheck::Tcp { host, port } => ReadyCheck::Tcp {
                    host: fill(host),
                    port: fill(port),
                },
                ReadyCheck::Http { url } => ReadyCheck::Http { url: fill(url) },
                ReadyCheck::Exec { command } => ReadyCheck::Exec {
                    command: command.fill(&placeholders),
                },
                ReadyCheck::Log { regex } => ReadyCheck::Log {
                    regex: regex.clone(),
                },
            },
            ..probe.clone()
        });
        ReplicaSpec {
            id: ReplicaId::new(self.name.clone(), index),
            dir: self.dir.clone(),
            command: self.run.fill(&placeholders),
            env,
            port,
            ready,
            stop_signal: self.stop_signal,
            stop_timeout: self.stop_timeout,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> ServiceSpec {
        ServiceSpec {
            name: ServiceName::new("users").unwrap(),
            dir: "/p/users".into(),
            file: "/p/users/service.yml".into(),
            kind: ServiceKind::Go,
            env: Env::from([("DB".into(), "x".into())]),
            build: None,
            run: CommandSpec::Shell("{bin} -port {port} -r {replica}".into()),
            test: None,
            acceptance: None,
            binary: Some("/p/.orchestra/bin/users".into()),
            scale: 2,
            port: Some(8080),
            ready: Some(ReadyProbe {
                check: ReadyCheck::Http {
                    url: "http://127.0.0.1:$PORT/health".into(),
                },
                timeout: ReadyProbe::DEFAULT_TIMEOUT,
                interval: ReadyProbe::DEFAULT_INTERVAL,
            }),
            restart: RestartPolicy::OnFailure,
            backoff: BackoffPolicy::default(),
            stop_signal: Signal::TERM,
            stop_timeout: Duration::from_secs(10),
            watch: vec![],
            ignore: vec![],
            rerun: RerunSpec::default(),
            depends_on: vec![],
            docker: DockerSpec::default(),
            task: None,
        }
    }

    #[test]
    fn replica_fills_port_env_command_and_probe() {
        let r = users().replica(1);
        assert_eq!(r.id.to_string(), "users.1");
        assert_eq!(r.port, Some(8081));
        assert_eq!(r.env["PORT"], "8081");
        assert_eq!(r.env["ORCHESTRA_REPLICA"], "1");
        assert_eq!(r.env["ORCHESTRA_SERVICE"], "users");
        assert_eq!(
            r.command,
            CommandSpec::Shell("/p/.orchestra/bin/users -port 8081 -r 1".into())
        );
        assert_eq!(
            r.ready.unwrap().check,
            ReadyCheck::Http {
                url: "http://127.0.0.1:8081/health".into()
            }
        );
    }

    #[test]
    fn exec_commands_display_quoted() {
        let c = CommandSpec::Exec(vec!["echo".into(), "a b".into(), "it's".into()]);
        assert_eq!(c.to_string(), r"echo 'a b' 'it'\''s'");
        assert_eq!(c.argv().len(), 3);
        assert_eq!(CommandSpec::Shell("x".into()).argv(), ["sh", "-c", "x"]);
    }
}
