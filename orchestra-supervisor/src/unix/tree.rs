//! A replica's process tree as `/proc` shows it, found from what we know is ours.
//!
//! A replica is more than its main process: shells fork, `go run` spawns the real binary,
//! daemons double-fork and call `setsid`. The tree is the union of
//! - the main process, when its identity still matches;
//! - members of its process group (it leads it), and of the session it leads (a replica
//!   adopted from an older daemon that started each replica in a session of its own),
//!   started after it;
//! - processes carrying its `ORCHESTRA_INSTANCE` token in their environment (found even
//!   after they left the group and were reparented), when the table was read with the
//!   tokens ([`Table::read_with_tokens`]);
//! - earlier members whose start time still matches;
//! - every descendant (by parent pid) of the above.
//!
//! A recycled pid never joins: every member is matched by pid *and* start time.

use std::collections::{BTreeSet, HashMap};

use orchestra_core::ProcessIdentity;

use super::table::{Entry, Table};

/// Where to look for a replica's processes. The instance token is looked for only in a
/// table read with the tokens.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Roots<'a> {
    pub leader: &'a ProcessIdentity,
    pub instance: Option<&'a str>,
    pub known: &'a HashMap<i32, u64>,
}

/// The members of a replica's tree in `table`, zombies included (callers skip them when
/// signalling). Never includes this process or pid 1.
pub(crate) fn discover(table: &Table, roots: Roots<'_>) -> Vec<Entry> {
    let leader = roots.leader;
    let me = std::process::id() as i32;
    let started_after = |e: &Entry| e.start_time >= leader.start_time;
    let mut members: BTreeSet<i32> = BTreeSet::new();

    let leader_row = table.get(leader.pid);
    let leader_same = leader_row.is_some_and(|e| e.start_time == leader.start_time);
    // A pid in use as a session or group id cannot be handed out again, so the session
    // and group are ours while the leader lives, or while it is gone and nothing took its
    // pid. A leader pid now held by another process means the ids are that process's.
    let group_trusted = leader_same || leader_row.is_none();
    if leader_same && leader.boot_id == super::identity::boot_id() {
        members.insert(leader.pid);
    }
    if group_trusted && leader.boot_id == super::identity::boot_id() {
        for e in table.iter() {
            if (e.session == leader.pid || e.pgrp == leader.pgid) && started_after(e) {
                members.insert(e.pid);
            }
        }
    }
    for (&pid, &start) in roots.known {
        if table.get(pid).is_some_and(|e| e.start_time == start) {
            members.insert(pid);
        }
    }
    if let (Some(token), Some(tokens)) = (roots.instance, table.tokens()) {
        for (&pid, held) in tokens {
            if **held == *token
                && !members.contains(&pid)
                && table.get(pid).is_some_and(started_after)
            {
                members.insert(pid);
            }
        }
    }
    // Descendants, by parent pid, to a fixed point.
    let mut stack: Vec<i32> = members.iter().copied().collect();
    while let Some(pid) = stack.pop() {
        for &child in table.children_of(pid) {
            if members.insert(child) {
                stack.push(child);
            }
        }
    }
    members
        .into_iter()
        .filter(|&pid| pid != me && pid > 1)
        .filter_map(|pid| table.get(pid).copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unix::identity::IdentityExt;
    use crate::unix::token::tests::orphan_with_token;

    #[test]
    fn finds_children_and_skips_itself() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let me = ProcessIdentity::of(std::process::id() as i32).unwrap();
        let table = Table::read().unwrap();
        let members = discover(
            &table,
            Roots {
                leader: &me,
                instance: None,
                known: &HashMap::new(),
            },
        );
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(members.iter().any(|e| e.pid == child.id() as i32));
        assert!(members.iter().all(|e| e.pid != me.pid));
    }

    fn found(table: &Table, instance: &str, pid: i32) -> bool {
        let me = ProcessIdentity::of(std::process::id() as i32).unwrap();
        discover(
            table,
            Roots {
                leader: &me,
                instance: Some(instance),
                known: &HashMap::new(),
            },
        )
        .iter()
        .any(|e| e.pid == pid)
    }

    #[test]
    fn finds_an_orphan_by_its_token_only_when_tokens_are_read() {
        let token = format!("tree-test-{}", std::process::id());
        let orphan = orphan_with_token(&token);
        let plain = Table::read().unwrap();
        let with_tokens = Table::read_with_tokens().unwrap();
        // Read again: the second read takes the tokens from what the first one learnt.
        let again = Table::read_with_tokens().unwrap();
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(orphan),
            nix::sys::signal::Signal::SIGKILL,
        );
        assert!(plain.get(orphan).is_some(), "the orphan is in the table");
        assert!(!found(&plain, &token, orphan), "no tokens read: not found");
        assert!(found(&with_tokens, &token, orphan));
        assert!(found(&again, &token, orphan));
        assert!(!found(&with_tokens, "another-token", orphan));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_fresh_table_is_read_after_it_was_asked_for() {
        // Concurrent askers share reads, yet each sees a process started before it asked.
        let mut set = tokio::task::JoinSet::new();
        for n in 0..8 {
            set.spawn(async move {
                let token = format!("fresh-test-{}-{n}", std::process::id());
                let orphan = orphan_with_token(&token);
                let table = Table::fresh().await.unwrap();
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(orphan),
                    nix::sys::signal::Signal::SIGKILL,
                );
                found(&table, &token, orphan)
            });
        }
        while let Some(seen) = set.join_next().await {
            assert!(
                seen.unwrap(),
                "a process started before asking is in the table"
            );
        }
    }
}
