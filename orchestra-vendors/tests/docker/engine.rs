//! Connecting to the engine, and the error when none answers.

use std::process::Command;

use orchestra_vendors::VendorError;

#[tokio::test]
async fn a_missing_socket_is_no_engine_naming_it_and_the_fix() {
    let err = orchestra_vendors::connect_to("unix:///nonexistent/docker.sock", "from DOCKER_HOST")
        .await
        .unwrap_err();

    assert!(matches!(err, VendorError::NoEngine { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "no Docker engine answers at unix:///nonexistent/docker.sock (from DOCKER_HOST); start \
         one (e.g. `sudo systemctl start docker`) or point DOCKER_HOST at an engine that runs"
    );
}

#[test]
fn connect_honours_docker_host() {
    // The environment is process-wide, so the check runs in a child test process.
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "engine::connect_with_env",
            "--ignored",
            "--nocapture",
        ])
        .env("DOCKER_HOST", "unix:///nonexistent/from-env.sock")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("1 passed"), "{stdout}");
}

/// Run by [`connect_honours_docker_host`] with DOCKER_HOST set.
#[tokio::test]
#[ignore = "run by connect_honours_docker_host with DOCKER_HOST set"]
async fn connect_with_env() {
    let err = orchestra_vendors::connect().await.unwrap_err();
    assert!(
        err.to_string().starts_with(
            "no Docker engine answers at unix:///nonexistent/from-env.sock (from DOCKER_HOST)"
        ),
        "{err}"
    );
}
