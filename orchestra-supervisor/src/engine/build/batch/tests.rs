use std::collections::BTreeSet;

use orchestra_core::spec::ServiceKind;

use super::*;

/// A Go service `name` in `root/folder` whose build is the default one.
fn go_service(root: &Path, name: &str, folder: &str) -> ServiceSpec {
    let dir = root.join(folder);
    std::fs::create_dir_all(&dir).expect("the service folder is made");
    let bin = root.join(".orchestra/bin").join(name).display().to_string();
    ServiceSpec {
        kind: ServiceKind::Go,
        build: Some(CommandSpec::Exec(
            ["go", "build", "-o", &bin, "."].map(String::from).to_vec(),
        )),
        ..ServiceSpec::command(
            ServiceName::new(name).expect("a valid name"),
            dir,
            CommandSpec::Exec(vec![bin]),
        )
    }
}

fn names<'a>(specs: impl IntoIterator<Item = &'a ServiceSpec>) -> BTreeSet<&'a str> {
    specs.into_iter().map(|s| s.name.as_str()).collect()
}

#[test]
fn default_builds_of_one_module_are_batched_and_every_other_build_is_left_alone() {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let root = tmp.path();
    std::fs::write(root.join("go.mod"), "module example.test/m\n\ngo 1.19\n").unwrap();
    std::fs::create_dir_all(root.join("tools")).unwrap();
    std::fs::write(root.join("tools/go.mod"), "module example.test/tools\n").unwrap();
    let static_env = Env::from([("CGO_ENABLED".to_owned(), "0".to_owned())]);
    let specs = vec![
        go_service(root, "users", "cmd/users"),
        go_service(root, "orders", "cmd/orders"),
        // A command written as a string is run as written.
        ServiceSpec {
            build: Some(CommandSpec::Shell("go build -o bin .".into())),
            ..go_service(root, "custom", "cmd/custom")
        },
        // go would name this binary `cmd`, not `v2`.
        go_service(root, "api", "cmd/v2"),
        // Another `users` binary would overwrite the first in the batch's folder.
        go_service(root, "twin", "other/users"),
        // Another environment may build something else.
        ServiceSpec {
            env: static_env,
            ..go_service(root, "static", "cmd/static")
        },
        // A module's root folder: go names its binary after the module path.
        go_service(root, "tools", "tools"),
    ];
    let (batches, alone) = plan(specs);
    assert_eq!(batches.len(), 1, "{batches:?}");
    let batch = &batches[0];
    assert_eq!(
        names(batch.members.iter().map(|m| &m.spec)),
        BTreeSet::from(["orders", "users"])
    );
    let packages: BTreeSet<&str> = batch.members.iter().map(|m| m.package.as_str()).collect();
    assert_eq!(packages, BTreeSet::from(["./cmd/orders", "./cmd/users"]));
    assert_eq!(batch.root, root);
    assert_eq!(
        names(&alone),
        BTreeSet::from(["api", "custom", "static", "tools", "twin"])
    );
}

#[test]
fn a_lone_service_is_not_a_batch() {
    let tmp = tempfile::tempdir().expect("a temp dir");
    std::fs::write(tmp.path().join("go.mod"), "module example.test/m\n").unwrap();
    let (batches, alone) = plan(vec![go_service(tmp.path(), "users", "cmd/users")]);
    assert!(batches.is_empty());
    assert_eq!(names(&alone), BTreeSet::from(["users"]));
}

#[test]
fn major_version_folders_are_told_apart() {
    for name in ["v2", "v10", "v0"] {
        assert!(is_version_element(name), "{name}");
    }
    for name in ["v", "vet", "users", "v2a", "2"] {
        assert!(!is_version_element(name), "{name}");
    }
}

/// A module with mains `a`, `b` and `c`; `c` does not compile.
fn module(root: &Path) -> Vec<ServiceSpec> {
    std::fs::write(root.join("go.mod"), "module example.test/m\n\ngo 1.19\n").unwrap();
    let mains = [
        ("a", "package main\n\nfunc main() { println(\"a\") }\n"),
        ("b", "package main\n\nfunc main() { println(\"b\") }\n"),
        ("c", "package main\n\nfunc main() { var x int = \"c\" }\n"),
    ];
    mains
        .iter()
        .map(|(name, src)| {
            let spec = go_service(root, name, &format!("cmd/{name}"));
            std::fs::write(spec.dir.join("main.go"), src).unwrap();
            spec
        })
        .collect()
}

#[tokio::test]
async fn a_batch_writes_what_each_build_alone_would_and_leaves_the_failing_one_to_itself() {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let specs = module(tmp.path());
    let state = StateDir::for_project(tmp.path());
    orchestra_core::paths::create_private_dir(state.root()).unwrap();
    orchestra_core::paths::create_private_dir(&state.bin_dir()).unwrap();
    let (batches, _) = plan(specs.clone());
    let results = batches[0].build(&state).await;

    let said: BTreeMap<&str, Option<bool>> = results
        .iter()
        .map(|(name, r)| (name.as_str(), r.as_ref().map(Result::is_ok)))
        .collect();
    assert_eq!(
        said,
        BTreeMap::from([("a", Some(true)), ("b", Some(true)), ("c", None)]),
        "c is left to its own build, which says why it fails"
    );
    let batched = std::fs::read(state.binary(&specs[0].name)).expect("a's binary is in place");
    super::super::build(&specs[0], &state)
        .await
        .expect("a builds alone");
    let alone = std::fs::read(state.binary(&specs[0].name)).unwrap();
    assert!(
        batched == alone,
        "the batch wrote the binary a's own build writes"
    );
    let left: Vec<_> = std::fs::read_dir(state.bin_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        BTreeSet::from_iter(left),
        BTreeSet::from(["a".to_owned(), "b".to_owned()])
    );
}
