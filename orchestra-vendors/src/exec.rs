//! A command run inside a vendor's container with the caller's streams attached, as
//! `docker exec -i` (and `-t` on a terminal) runs it, through the Engine API.

use bollard::exec::{ResizeExecOptions, StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use futures_util::StreamExt;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};

use crate::client::Docker;
use crate::error::VendorError;

/// A terminal's size, in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TtySize {
    /// Rows.
    pub rows: u16,
    /// Columns.
    pub cols: u16,
}

/// What the command is attached to.
#[derive(Debug)]
pub struct ExecIo {
    /// Input, chunk by chunk; the sender dropped is end of input. `None`: no input.
    pub stdin: Option<mpsc::Receiver<Vec<u8>>>,
    /// A terminal's size, and its changes, when the command runs on a terminal: its
    /// output then comes as one stream, written to stdout.
    pub tty: Option<watch::Receiver<TtySize>>,
}

/// Runs `argv` in `container` with `io` attached, copying its output to `stdout` and
/// `stderr` until it ends, and returns its exit code.
///
/// # Errors
///
/// [`VendorError::Engine`] when the engine refuses the command (no such container, not
/// running) or its exit code cannot be read. A closed stdout only stops the copying.
pub async fn exec_attached(
    docker: &Docker,
    container: &str,
    argv: &[String],
    io: ExecIo,
    stdout: &mut (dyn AsyncWrite + Unpin + Send),
    stderr: &mut (dyn AsyncWrite + Unpin + Send),
) -> Result<i64, VendorError> {
    let tty = io.tty.is_some();
    let config = ExecConfig {
        cmd: Some(argv.to_vec()),
        attach_stdin: Some(io.stdin.is_some()),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        tty: Some(tty),
        ..ExecConfig::default()
    };
    let shown = argv.join(" ");
    let created =
        docker
            .api()
            .create_exec(container, config)
            .await
            .map_err(VendorError::engine(format!(
                "cannot run `{shown}` in {container}"
            )))?;
    let options = StartExecOptions {
        detach: false,
        tty,
        output_capacity: None,
    };
    let started = docker
        .api()
        .start_exec(&created.id, Some(options))
        .await
        .map_err(VendorError::engine(format!(
            "cannot start `{shown}` in {container}"
        )))?;
    let StartExecResults::Attached { mut output, input } = started else {
        return Err(VendorError::Engine {
            action: format!("`{shown}` in {container} was started detached"),
            source: bollard::errors::Error::DockerStreamError {
                error: "no output stream".into(),
            },
        });
    };
    let feeding = io.stdin.map(|rx| tokio::spawn(feed(rx, input)));
    let resizing = io.tty.map(|size| {
        let docker = docker.clone();
        let id = created.id.clone();
        tokio::spawn(follow_size(docker, id, size))
    });
    while let Some(chunk) = output.next().await {
        let Ok(chunk) = chunk else { break };
        let (to, bytes): (&mut (dyn AsyncWrite + Unpin + Send), _) = match chunk {
            bollard::container::LogOutput::StdErr { message } => (&mut *stderr, message),
            other => (&mut *stdout, other.into_bytes()),
        };
        if to.write_all(&bytes).await.is_err() || to.flush().await.is_err() {
            break;
        }
    }
    for task in [feeding, resizing].into_iter().flatten() {
        task.abort();
    }
    let inspected = docker
        .api()
        .inspect_exec(&created.id)
        .await
        .map_err(VendorError::engine(format!(
            "cannot read the exit code of `{shown}` in {container}"
        )))?;
    // The engine has no code for a command it could not start (not found): 126/127 as a
    // shell would say, which `docker exec` reports too.
    Ok(inspected.exit_code.unwrap_or(126))
}

/// Copies input into the command; at its end, closes the command's input so that a
/// program reading to end of input (`redis-cli < commands.txt`) finishes.
async fn feed(
    mut rx: mpsc::Receiver<Vec<u8>>,
    mut input: std::pin::Pin<Box<dyn AsyncWrite + Send>>,
) {
    while let Some(chunk) = rx.recv().await {
        if input.write_all(&chunk).await.is_err() || input.flush().await.is_err() {
            return;
        }
    }
    let _ = input.shutdown().await;
}

/// Keeps the command's terminal the size of the caller's.
async fn follow_size(docker: Docker, id: String, mut size: watch::Receiver<TtySize>) {
    loop {
        let now = *size.borrow_and_update();
        let options = ResizeExecOptions {
            height: now.rows,
            width: now.cols,
        };
        if let Err(e) = docker.api().resize_exec(&id, options).await {
            tracing::debug!(error = %e, "cannot resize the exec terminal");
        }
        if size.changed().await.is_err() {
            return;
        }
    }
}
