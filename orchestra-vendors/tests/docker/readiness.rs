//! Readiness checks and the errors of vendors that never get ready.

use std::time::Duration;

use futures_util::StreamExt;
use orchestra_core::spec::{CommandSpec, VendorReady};
use orchestra_vendors::VendorError;

use crate::support::{Project, REDIS_IMAGE, chain, engine_or_skip, events, redis, redis_say};

fn exec(argv: &[&str]) -> VendorReady {
    VendorReady::Exec(CommandSpec::Exec(
        argv.iter().map(|s| (*s).to_owned()).collect(),
    ))
}

#[tokio::test]
async fn exec_readiness_runs_the_command_inside_the_container() {
    let Some(docker) = engine_or_skip().await else {
        return;
    };
    let project = Project::new(docker, "exec");
    let mut spec = redis("cache");
    spec.ready = Some(exec(&["redis-cli", "ping"]));

    let up = project
        .up(std::slice::from_ref(&spec), events().0)
        .await
        .unwrap();

    assert!(up[0].ready_after < spec.ready_timeout);
    // redis-cli answered PONG inside, so the server takes commands from outside too.
    assert_eq!(redis_say(spec.ports[0].host, &["PING"]), ["+PONG"]);
}

#[tokio::test]
async fn a_failing_check_times_out_with_its_last_answer() {
    let Some(docker) = engine_or_skip().await else {
        return;
    };
    let project = Project::new(docker, "never");
    let mut spec = redis("cache");
    spec.ready = Some(exec(&["sh", "-c", "echo not yet; exit 3"]));
    spec.ready_timeout = Duration::from_secs(3);

    let err = project.up(&[spec], events().0).await.unwrap_err();

    assert!(matches!(err, VendorError::NotReady { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("vendor `cache` is not ready after 3s"),
        "{text}"
    );
    assert!(text.contains("exited with code 3: not yet"), "{text}");
    // The container's own output comes along, for the failure report.
    assert!(
        err.log_tail()
            .iter()
            .any(|l| l.contains("Ready to accept connections")),
        "{text}"
    );
    assert!(text.contains("its last output:"), "{text}");
}

#[tokio::test]
async fn a_container_that_exits_before_ready_reports_its_output() {
    let Some(docker) = engine_or_skip().await else {
        return;
    };
    let project = Project::new(docker, "exits");
    let mut spec = redis("cache");
    spec.command = Some(CommandSpec::Exec(vec![
        "sh".into(),
        "-c".into(),
        "echo configuration is broken >&2; exit 7".into(),
    ]));
    spec.restart = orchestra_core::policy::RestartPolicy::Never;
    let (tx, mut rx) = events();

    let err = project.up(&[spec], tx).await.unwrap_err();

    let VendorError::Exited { code, log_tail, .. } = &err else {
        panic!("expected an early exit, got {err:?}");
    };
    assert_eq!(*code, 7);
    assert!(
        log_tail
            .iter()
            .any(|l| l.contains("configuration is broken")),
        "{log_tail:?}"
    );
    let mut last = None;
    while let Ok(p) = rx.try_recv() {
        last = Some(p);
    }
    let last = last.expect("a progress line for the vendor");
    assert_eq!(last.phase, orchestra_core::protocol::Phase::Failed);
    // The reason is said once, by the failure the request ends on, not again by its line.
    assert_eq!(last.message, None);
    assert!(err.to_string().contains("exited with code 7"), "{err}");
}

#[tokio::test]
async fn healthcheck_readiness_waits_for_the_image_healthcheck() {
    let Some(docker) = engine_or_skip().await else {
        return;
    };
    let tag = "orchestra-test/redis-healthcheck:7";
    let dockerfile = format!(
        "FROM {REDIS_IMAGE}\nHEALTHCHECK --interval=200ms --timeout=2s CMD redis-cli ping | grep -q PONG\n"
    );
    build_image(&docker, tag, &dockerfile).await;
    let project = Project::new(docker, "health");
    let mut spec = redis("cache");
    spec.image = tag.into();
    spec.ready = Some(VendorReady::Healthcheck);

    project
        .up(std::slice::from_ref(&spec), events().0)
        .await
        .unwrap();

    let info = project
        .docker()
        .api()
        .inspect_container(
            &orchestra_vendors::container_name(&project.name, &spec.name),
            None,
        )
        .await
        .unwrap();
    let health = info.state.unwrap().health.unwrap().status.unwrap();
    assert_eq!(health.to_string(), "healthy");
}

#[tokio::test]
async fn healthcheck_readiness_on_an_image_without_one_says_so() {
    let Some(docker) = engine_or_skip().await else {
        return;
    };
    let project = Project::new(docker, "nohealth");
    let mut spec = redis("cache");
    spec.ready = Some(VendorReady::Healthcheck);

    let err = project.up(&[spec], events().0).await.unwrap_err();

    assert_eq!(
        err.to_string(),
        format!("vendor `cache` waits for a healthcheck but image `{REDIS_IMAGE}` defines none")
    );
}

#[tokio::test]
async fn a_missing_image_that_cannot_be_pulled_names_the_image_and_the_reason() {
    let Some(docker) = engine_or_skip().await else {
        return;
    };
    let project = Project::new(docker, "noimage");
    let mut spec = redis("cache");
    spec.image = "orchestra-test/does-not-exist:1".into();
    let (tx, mut rx) = events();

    let err = project.up(&[spec], tx).await.unwrap_err();

    assert!(matches!(err, VendorError::Pull { .. }), "{err:?}");
    let text = chain(&err);
    assert!(
        text.contains("needs image `orchestra-test/does-not-exist:1`"),
        "{text}"
    );
    // The engine's words for the missing image, once.
    assert!(
        text.contains("(No such image: orchestra-test/does-not-exist:1)"),
        "{text}"
    );
    assert!(text.contains("build it locally"), "{text}");
    // The engine's reason the pull failed follows (a registry lookup failure, or access
    // denied).
    let reason = text.split("under that tag: ").nth(1).unwrap_or_default();
    assert!(!reason.trim().is_empty(), "{text}");
    let first = rx.try_recv().unwrap();
    assert_eq!(
        first.message.as_deref(),
        Some("pulling orchestra-test/does-not-exist:1")
    );
}

/// Builds `tag` from a one-file context through the Engine API.
async fn build_image(docker: &orchestra_vendors::Docker, tag: &str, dockerfile: &str) {
    let mut archive = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(dockerfile.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    archive
        .append_data(&mut header, "Dockerfile", dockerfile.as_bytes())
        .unwrap();
    let context = archive.into_inner().unwrap();
    let options = bollard::query_parameters::BuildImageOptionsBuilder::new()
        .t(tag)
        .rm(true)
        .build();
    let mut stream =
        docker
            .api()
            .build_image(options, None, Some(bollard::body_full(context.into())));
    while let Some(item) = stream.next().await {
        let info = item.unwrap();
        assert!(
            info.error_detail.is_none(),
            "building {tag}: {:?}",
            info.error_detail
        );
    }
}
