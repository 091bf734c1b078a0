//! Waiting for a vendor to be ready: its [`VendorReady`] check retried every
//! [`INTERVAL`] until it passes, the container exits, or `ready_timeout` runs out.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use bollard::exec::StartExecResults;
use bollard::models::{ContainerInspectResponse, ExecConfig, HealthStatusEnum};
use futures_util::StreamExt;
use orchestra_core::ProjectName;
use orchestra_core::chain::error_chain;
use orchestra_core::spec::{CommandSpec, VendorReady, VendorSpec};
use orchestra_supervisor::probe::{self, PROXY_SETTLE};

use crate::client::Docker;
use crate::container::port_key;
use crate::error::VendorError;
use crate::logs;
use crate::names::network_name;

/// Pause between two attempts.
pub const INTERVAL: Duration = Duration::from_millis(100);

/// Lines of output shown when a container exits before it is ready.
const TAIL_LINES: usize = 20;

/// Waits until the vendor's container passes its readiness check; returns how long it took.
pub(crate) async fn wait(
    docker: &Docker,
    project: &ProjectName,
    container: &str,
    spec: &VendorSpec,
) -> Result<Duration, VendorError> {
    let started = Instant::now();
    let Some(check) = &spec.ready else {
        return Ok(Duration::ZERO);
    };
    let deadline = started + spec.ready_timeout;
    let mut last: Option<String> = None;
    loop {
        let info = docker
            .api()
            .inspect_container(container, None)
            .await
            .map_err(VendorError::engine(format!(
                "inspecting container {container}"
            )))?;
        exited(docker, container, spec, &info).await?;
        let remaining = deadline.saturating_duration_since(Instant::now());
        let attempt = attempt(docker, project, container, spec, check, &info);
        match tokio::time::timeout(remaining.max(INTERVAL), attempt).await {
            Ok(Ok(())) => {
                tracing::info!(vendor = %spec.name, after = ?started.elapsed(), "vendor ready");
                return Ok(started.elapsed());
            }
            Ok(Err(reason)) => last = Some(reason?),
            // An attempt cut short by the deadline says less than the one before it.
            Err(_) => {}
        }
        if Instant::now() >= deadline {
            return Err(VendorError::NotReady {
                vendor: spec.name.clone(),
                timeout: spec.ready_timeout,
                last: last.unwrap_or_else(|| "the check did not finish in time".to_owned()),
                log_tail: logs::tail(docker, container, TAIL_LINES).await,
            });
        }
        tokio::time::sleep(INTERVAL).await;
    }
}

/// Fails with the container's last output when it has stopped (a restarting container is
/// still given its chance).
async fn exited(
    docker: &Docker,
    container: &str,
    spec: &VendorSpec,
    info: &ContainerInspectResponse,
) -> Result<(), VendorError> {
    let Some(state) = &info.state else {
        return Ok(());
    };
    if state.running == Some(true) || state.restarting == Some(true) {
        return Ok(());
    }
    Err(VendorError::Exited {
        vendor: spec.name.clone(),
        code: state.exit_code.unwrap_or(-1),
        log_tail: logs::tail(docker, container, TAIL_LINES).await,
    })
}

/// One attempt. The outer error is fatal (stop waiting); the inner one is why this attempt
/// failed (try again).
async fn attempt(
    docker: &Docker,
    project: &ProjectName,
    container: &str,
    spec: &VendorSpec,
    check: &VendorReady,
    info: &ContainerInspectResponse,
) -> Result<(), Result<String, VendorError>> {
    match check {
        VendorReady::Tcp(port) => {
            let addr = tcp_address(project, spec, info, *port).ok_or_else(|| {
                Ok(format!(
                    "port {port} is neither published nor reachable on the network"
                ))
            })?;
            probe::tcp(&addr.ip().to_string(), addr.port(), PROXY_SETTLE)
                .await
                .map_err(|e| Ok(error_chain(&e)))
        }
        VendorReady::Http(url) => probe::http(url).await.map_err(|e| Ok(error_chain(&e))),
        VendorReady::Exec(command) => exec(docker, container, command).await.map_err(Ok),
        VendorReady::Healthcheck => healthy(info).map_err(|e| match e {
            Some(reason) => Ok(reason),
            None => Err(VendorError::NoHealthcheck {
                vendor: spec.name.clone(),
                image: spec.image.clone(),
            }),
        }),
    }
}

/// Where to dial the probe's `port` from the host. A port the vendor publishes on the host
/// (`38111` of `38111:6379`) is dialled there, on loopback; any other is a container port,
/// reached through its published loopback port, else on the container's address on the
/// project network (reachable from a Linux host).
fn tcp_address(
    project: &ProjectName,
    spec: &VendorSpec,
    info: &ContainerInspectResponse,
    port: u16,
) -> Option<SocketAddr> {
    if spec.ports.iter().any(|m| m.host == port) {
        return Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    let settings = info.network_settings.as_ref()?;
    let published = settings
        .ports
        .as_ref()
        .and_then(|ports| ports.get(&port_key(port)))
        .and_then(|bindings| bindings.as_ref())
        .and_then(|bindings| {
            bindings
                .iter()
                .find_map(|b| b.host_port.as_deref()?.parse::<u16>().ok())
        });
    if let Some(host_port) = published {
        return Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), host_port));
    }
    let ip: IpAddr = settings
        .networks
        .as_ref()?
        .get(&network_name(project))?
        .ip_address
        .as_deref()?
        .parse()
        .ok()?;
    Some(SocketAddr::new(ip, port))
}

/// Runs `command` inside the container through the exec API; passes on exit code 0.
async fn exec(docker: &Docker, container: &str, command: &CommandSpec) -> Result<(), String> {
    let config = ExecConfig {
        cmd: Some(command.argv()),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        ..ExecConfig::default()
    };
    let created = docker
        .api()
        .create_exec(container, config)
        .await
        .map_err(|e| format!("cannot run `{command}` in the container: {e}"))?;
    let mut output = Vec::new();
    match docker.api().start_exec(&created.id, None).await {
        Ok(StartExecResults::Attached {
            output: mut stream, ..
        }) => {
            while let Some(Ok(chunk)) = stream.next().await {
                if output.len() < 4096 {
                    output.extend_from_slice(&chunk.into_bytes());
                }
            }
        }
        Ok(StartExecResults::Detached) => {}
        Err(e) => return Err(format!("cannot run `{command}` in the container: {e}")),
    }
    let inspected = docker
        .api()
        .inspect_exec(&created.id)
        .await
        .map_err(|e| format!("cannot read the exit code of `{command}`: {e}"))?;
    match inspected.exit_code {
        Some(0) => Ok(()),
        code => {
            let said = String::from_utf8_lossy(&output);
            let said = said.trim();
            let code = code.map_or_else(|| "no code".to_owned(), |c| format!("code {c}"));
            if said.is_empty() {
                Err(format!("`{command}` exited with {code}"))
            } else {
                Err(format!("`{command}` exited with {code}: {said}"))
            }
        }
    }
}

/// The engine's view of the image's HEALTHCHECK; `Err(None)` when there is none at all.
fn healthy(info: &ContainerInspectResponse) -> Result<(), Option<String>> {
    let health = info
        .state
        .as_ref()
        .and_then(|s| s.health.as_ref())
        .ok_or(None)?;
    match health.status {
        Some(HealthStatusEnum::HEALTHY) => Ok(()),
        Some(HealthStatusEnum::NONE | HealthStatusEnum::EMPTY) | None => Err(None),
        Some(status) => {
            let last = health
                .log
                .as_ref()
                .and_then(|log| log.last())
                .and_then(|r| r.output.as_deref())
                .map(str::trim)
                .unwrap_or_default();
            Err(Some(format!("healthcheck says {status}: {last}")))
        }
    }
}
