//! A vendor's output followed into its log file.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use crate::support::{Project, engine_or_skip, events, redis, redis_say, vendor, wait_until};

#[tokio::test]
async fn logs_to_file_appends_redis_output_until_the_container_stops() {
    let Some(docker) = engine_or_skip().await else {
        return;
    };
    let project = Project::new(docker, "logs");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vendor.cache.log");
    let spec = redis("cache");
    project
        .up(std::slice::from_ref(&spec), events().0)
        .await
        .unwrap();

    let task = project.logs_to_file(&spec.name, &path).await.unwrap();

    let text = wait_until(
        "redis's startup lines in the log",
        Duration::from_secs(10),
        || {
            let text = std::fs::read_to_string(&path).unwrap();
            async move { text.contains("Ready to accept connections").then_some(text) }
        },
    )
    .await;
    assert!(text.contains("Redis is starting"), "{text}");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    project.down(&[], false).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the log task ends when the container stops")
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("ready to exit, bye bye"), "{text}");
}

#[tokio::test]
async fn logs_to_file_resumes_a_used_file_from_its_last_write() {
    let Some(docker) = engine_or_skip().await else {
        return;
    };
    let project = Project::new(docker, "resume");
    let spec = redis("cache");
    project
        .up(std::slice::from_ref(&spec), events().0)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vendor.cache.log");
    // A file already written by an earlier follower, last touched after the startup lines
    // (one second ahead, past the one-second precision of the resume point).
    std::fs::write(&path, "from the earlier follower\n").unwrap();
    let later = std::time::SystemTime::now() + Duration::from_secs(1);
    std::fs::File::options()
        .append(true)
        .open(&path)
        .unwrap()
        .set_modified(later)
        .unwrap();

    let _task = project.logs_to_file(&spec.name, &path).await.unwrap();

    // Each SAVE logs a line; repeat until one made after the resume point arrives.
    let port = spec.ports[0].host;
    let text = wait_until(
        "a line logged after the resume point",
        Duration::from_secs(10),
        || {
            assert_eq!(redis_say(port, &["SAVE"]), ["+OK"]);
            let text = std::fs::read_to_string(&path).unwrap();
            async move { text.contains("DB saved on disk").then_some(text) }
        },
    )
    .await;
    assert!(text.starts_with("from the earlier follower\n"), "{text}");
    assert!(
        !text.contains("Ready to accept connections"),
        "startup lines repeated:\n{text}"
    );
}

#[tokio::test]
async fn logs_to_file_of_a_vendor_without_container_is_an_error() {
    let Some(docker) = engine_or_skip().await else {
        return;
    };
    let project = Project::new(docker, "nologs");
    let dir = tempfile::tempdir().unwrap();

    let err = project
        .logs_to_file(&vendor("ghost"), &dir.path().join("vendor.ghost.log"))
        .await
        .unwrap_err();

    assert_eq!(
        err.to_string(),
        "vendor `ghost` has no container (run `orchestra vendors up` first)"
    );
}
