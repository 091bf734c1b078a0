//! Port owners: the program holding a port, and the ports held under a folder.

use std::collections::HashSet;
use std::process::Command;

use orchestra_supervisor::strays::{port_holder, ports_held_under};

use crate::common::free_port;
use crate::support::{Procs, answers, wait_until};

#[tokio::test]
async fn port_holder_names_a_python_http_server_and_ports_held_under_finds_it() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let site = root.join("site");
    std::fs::create_dir_all(&site).unwrap();
    let mut procs = Procs::default();
    let port = free_port();
    let pid = procs.start(
        Command::new("/usr/bin/python3")
            .args(["-m", "http.server", &port.to_string()])
            .current_dir(&site),
    );
    wait_until(20, "python to serve", || answers(port));

    let holder = port_holder(port).unwrap();
    assert_eq!(holder.pid, pid);
    assert_eq!(
        holder.cmdline,
        format!("/usr/bin/python3 -m http.server {port}")
    );
    assert_eq!(
        holder.cwd.as_deref(),
        Some(site.canonicalize().unwrap().as_path())
    );
    assert_eq!(
        holder.to_string(),
        format!("port {port} is held by pid {pid}: /usr/bin/python3 -m http.server {port}")
    );

    let under = ports_held_under(root, &HashSet::new());
    assert_eq!(under, vec![holder.clone()]);
    assert!(ports_held_under(root, &HashSet::from([pid])).is_empty());
    let elsewhere = tempfile::tempdir().unwrap();
    assert!(ports_held_under(elsewhere.path(), &HashSet::new()).is_empty());

    drop(procs);
    wait_until(10, "the port to be free", || port_holder(port).is_none());
    assert_eq!(port_holder(free_port()), None);
}
