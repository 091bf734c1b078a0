//! A vendor's output: followed into its log file under `.orchestra/logs/`, or its last
//! lines fetched for an error message.

use std::path::Path;
use std::time::UNIX_EPOCH;

use bollard::query_parameters::LogsOptionsBuilder;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::task::JoinHandle;

use crate::client::Docker;
use crate::error::VendorError;

/// Appends the container's stdout and stderr to `path` (created 0600), following, until the
/// container stops. Returns the copying task.
///
/// A fresh file gets the container's whole output. A file that already holds lines (the
/// daemon restarted and re-attaches) only gets output from its last modification on, at
/// one-second precision: a line of that second may appear twice, none is lost.
pub(crate) fn follow_into(
    docker: &Docker,
    container: &str,
    path: &Path,
) -> Result<JoinHandle<()>, VendorError> {
    let io = |source| VendorError::Io {
        path: path.to_owned(),
        source,
    };
    let file = orchestra_core::paths::open_append(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    let mut options = LogsOptionsBuilder::new()
        .follow(true)
        .stdout(true)
        .stderr(true);
    if meta.len() > 0 {
        let since = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| i32::try_from(d.as_secs()).unwrap_or(i32::MAX));
        options = options.since(since);
    }
    let mut stream = docker.api().logs(container, Some(options.build()));
    let mut file = tokio::fs::File::from_std(file);
    let container = container.to_owned();
    let path = path.to_owned();
    Ok(tokio::spawn(async move {
        while let Some(item) = stream.next().await {
            let chunk = match item {
                Ok(chunk) => chunk.into_bytes(),
                Err(e) => {
                    tracing::warn!(%container, error = %e, "vendor log stream ended with an error");
                    break;
                }
            };
            if let Err(e) = file.write_all(&chunk).await {
                tracing::warn!(%container, path = %path.display(), error = %e, "cannot write the vendor log");
                break;
            }
        }
        let _ = file.flush().await;
        tracing::debug!(%container, "vendor log stream ended");
    }))
}

/// The last `lines` lines of the container's output (empty when they cannot be read: this
/// only decorates an error that is already on its way).
pub(crate) async fn tail(docker: &Docker, container: &str, lines: usize) -> Vec<String> {
    let options = LogsOptionsBuilder::new()
        .stdout(true)
        .stderr(true)
        .tail(&lines.to_string())
        .build();
    let mut stream = docker.api().logs(container, Some(options));
    let mut text = Vec::new();
    while let Some(Ok(chunk)) = stream.next().await {
        text.extend_from_slice(&chunk.into_bytes());
    }
    String::from_utf8_lossy(&text)
        .lines()
        .map(str::to_owned)
        .collect()
}
