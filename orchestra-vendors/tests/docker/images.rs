//! FROM-scratch images built from a static binary through the Engine API.

use std::process::Command;
use std::time::Duration;

use orchestra_core::spec::{PortMapping, VendorReady};

use crate::support::{Project, engine_or_skip, events, free_port, redis, workspace_root};

#[tokio::test]
async fn a_scratch_image_of_a_static_go_binary_runs_and_passes_an_http_probe() {
    let Some(docker) = engine_or_skip().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("http");
    let built = Command::new("go")
        .args(["build", "-o"])
        .arg(&binary)
        .arg(".")
        .current_dir(workspace_root().join("tests/fixtures/go/http"))
        .env("CGO_ENABLED", "0")
        .status()
        .expect("run go build");
    assert!(built.success());
    let project = Project::new(docker, "scratch");
    let tag = format!("orchestra-test/{}:latest", project.name);

    project.build_scratch_image(&tag, &binary).await.unwrap();

    let image = project.docker().api().inspect_image(&tag).await.unwrap();
    let config = image.config.unwrap();
    assert_eq!(config.entrypoint.unwrap(), ["/http"]);
    let port = free_port();
    let mut spec = redis("web");
    spec.image = tag.clone();
    spec.env.insert("PORT".into(), "8080".into());
    spec.env.insert("ORCHESTRA_SERVICE".into(), "web".into());
    spec.ports = vec![PortMapping {
        host: port,
        container: 8080,
    }];
    spec.ready = Some(VendorReady::Http(format!("http://127.0.0.1:{port}/health")));
    spec.ready_timeout = Duration::from_secs(20);

    project.up(&[spec], events().0).await.unwrap();

    let body = http_get(port, "/");
    assert!(body.contains("hello from web."), "{body}");
    project.down(&[], false).await.unwrap();
    let removed = project
        .docker()
        .api()
        .remove_image(
            &tag,
            None::<bollard::query_parameters::RemoveImageOptions>,
            None,
        )
        .await;
    assert!(removed.is_ok(), "{removed:?}");
}

#[tokio::test]
async fn building_from_a_missing_binary_names_the_file() {
    let Some(docker) = engine_or_skip().await else {
        return;
    };
    let project = Project::new(docker, "nobinary");

    let err = project
        .build_scratch_image(
            "orchestra-test/never:1",
            std::path::Path::new("/nonexistent/app"),
        )
        .await
        .unwrap_err();

    assert_eq!(err.to_string(), "cannot access /nonexistent/app");
}

fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}
