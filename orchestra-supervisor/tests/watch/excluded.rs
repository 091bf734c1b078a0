//! Changes that give no event: outside the sources (state, git, ignored, build output,
//! editors' files), in a folder that is no service, or newly ignored by a `.gitignore`.

use std::fs;

use crate::support::Project;

#[tokio::test]
async fn changes_outside_the_sources_give_none() {
    let p = Project::new();
    // `app` is the project folder itself and watches everything; `users` is nested in it.
    let app = p.service("app", "", &[]);
    let users = p.go("users", "users");
    let orders = p.go("orders", "orders");
    fs::write(p.path(".gitignore"), "/users/gen/\n").expect("write");
    fs::write(p.path("users/.gitignore"), "tmp/\n").expect("write");
    fs::create_dir_all(p.path(".git")).expect("mkdir");
    let (_w, mut events) = p.watch(&[app, users, orders]);

    p.write(".orchestra/logs/users.0.log");
    p.write(".orchestra/state.json");
    p.write(".git/index");
    p.write("users/.git/HEAD");
    p.write("users/gen/api.go");
    p.write("users/tmp/scratch.go");
    p.write("users/users-bin");
    p.write("users/README.md");
    // An editor's save dance next to the sources: vim's probe, swap and backup files, Emacs' lock.
    p.write("users/4913");
    fs::remove_file(p.path("users/4913")).expect("rm");
    p.write("users/.main.go.swp");
    p.write("users/main.go~");
    p.write("users/.#main.go");
    p.write("notes.txt~");
    // Reading sources, as a build does, is no change.
    fs::read_dir(p.path("users")).expect("ls").for_each(drop);
    let _ = fs::read(p.path("users/README.md")).expect("read");

    p.write("orders/main.go");
    events.next_is_only("orders").await;

    // The same files are seen by the service that owns them.
    p.write("users/main.go");
    events.next_is_only("users").await;
    p.write("notes.txt");
    events.next_is_only("app").await;
}

#[tokio::test]
async fn a_folder_that_is_no_service_gives_none() {
    let p = Project::new();
    fs::create_dir_all(p.path("scripts")).expect("mkdir");
    let (_w, mut events) = p.watch(&[p.go("users", "users"), p.go("orders", "orders")]);
    p.write("scripts/gen.go");
    p.write("main.go");
    p.write("orders-old/main.go");
    p.write("orders/main.go");
    events.next_is_only("orders").await;
}

#[tokio::test]
async fn a_changing_gitignore_is_read_again() {
    let p = Project::new();
    let (_w, mut events) = p.watch(&[p.go("users", "users"), p.go("orders", "orders")]);
    fs::write(p.path("users/.gitignore"), "generated/\n").expect("write");
    p.write("users/generated/api.go");
    p.write("orders/main.go");
    events.next_is_only("orders").await;
}
