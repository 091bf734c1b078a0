//! The static Go build of a service (`CGO_ENABLED=0 GOOS=linux`), and the command as a
//! FROM-scratch image runs it: the host binary's path replaced by its path in the image,
//! with no shell to lean on.

use std::path::Path;

use orchestra_core::spec::{CommandSpec, ServiceSpec};

use crate::backend::error::SpawnError;

/// `CGO_ENABLED=0 GOOS=linux go build -o <binary> .` in the service folder, with the
/// service's environment (GOFLAGS and friends apply as in the host build).
pub(crate) async fn go_build_static(
    service: &ServiceSpec,
    binary: &Path,
) -> Result<(), SpawnError> {
    let failed = |output: String| SpawnError::StaticBuild {
        service: service.name.clone(),
        dir: service.dir.clone(),
        output,
    };
    tracing::info!(service = %service.name, binary = %binary.display(), "building the static binary");
    let output = tokio::process::Command::new("go")
        .args(["build", "-o"])
        .arg(binary)
        .arg(".")
        .current_dir(&service.dir)
        .envs(&service.env)
        .env("CGO_ENABLED", "0")
        .env("GOOS", "linux")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| failed(format!("cannot run `go`: {e}")))?;
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stdout));
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(40)..].join("\n");
    Err(failed(format!("{}\n{tail}", output.status)))
}

/// The command as the scratch image runs it: the host binary's path replaced by its path
/// in the image. `None` when the command needs a shell (a scratch image has none): a string
/// holding nothing but plain words is split on whitespace, as `sh -c` would.
pub(crate) fn scratch_argv(
    command: &CommandSpec,
    host_bin: &str,
    in_image: &str,
) -> Option<Vec<String>> {
    let argv = match command {
        CommandSpec::Exec(v) => v.clone(),
        CommandSpec::Shell(s) => {
            if s.chars().any(|c| "|&;<>()$`\\\"'*?[]#~=%{}!\n".contains(c)) {
                return None;
            }
            s.split_whitespace().map(str::to_owned).collect()
        }
    };
    if argv.is_empty() {
        return None;
    }
    let rewrite = |a: String| {
        if host_bin.is_empty() {
            a
        } else {
            a.replace(host_bin, in_image)
        }
    };
    Some(argv.into_iter().map(rewrite).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_commands_point_at_the_binary_in_the_image() {
        let bin = "/p/.orchestra/bin/users";
        assert_eq!(
            scratch_argv(&CommandSpec::Exec(vec![bin.into()]), bin, "/users-static"),
            Some(vec!["/users-static".to_owned()])
        );
        assert_eq!(
            scratch_argv(
                &CommandSpec::Shell(format!("{bin} -port 8080")),
                bin,
                "/users-static"
            ),
            Some(vec![
                "/users-static".to_owned(),
                "-port".to_owned(),
                "8080".to_owned()
            ])
        );
        assert_eq!(
            scratch_argv(&CommandSpec::Shell(format!("{bin} > out.log")), bin, "/x"),
            None
        );
        assert_eq!(
            scratch_argv(&CommandSpec::Shell("FOO=1 {bin}".into()), bin, "/x"),
            None
        );
        assert_eq!(scratch_argv(&CommandSpec::Exec(vec![]), bin, "/x"), None);
    }
}
