//! The journal on real files: appends, damage, compaction, replacement, locks.

use super::*;
use orchestra_core::ProcessIdentity;

fn state() -> (tempfile::TempDir, StateDir) {
    let dir = tempfile::tempdir().unwrap();
    let state = StateDir::for_project(dir.path());
    (dir, state)
}

fn rec(service: &str, replica: u32, pid: i32) -> ReplicaRecord {
    ReplicaRecord {
        identity: ProcessIdentity {
            pid,
            pgid: pid,
            start_time: 1,
            boot_id: "boot".into(),
        },
        instance: format!("token-{service}-{replica}-{pid}"),
        spec_hash: "0".into(),
        service: ServiceName::new(service).unwrap(),
        replica,
        port: None,
        started_at: 1,
        restarts: 0,
        stop_signal: orchestra_core::Signal::default(),
    }
}

fn id(service: &str, replica: u32) -> ReplicaId {
    ReplicaId::new(ServiceName::new(service).unwrap(), replica)
}

#[test]
fn the_last_line_about_a_replica_wins() {
    let (_dir, state) = state();
    record(&state, &rec("web", 0, 10)).unwrap();
    record(&state, &rec("web", 1, 11)).unwrap();
    record(&state, &rec("web", 0, 12)).unwrap();
    forget(&state, &id("web", 1)).unwrap();
    forget(&state, &id("api", 0)).unwrap();
    let read = read(&state);
    assert_eq!(read.records, vec![rec("web", 0, 12)]);
    assert_eq!(read.damaged, 0);
}

#[test]
fn a_missing_journal_records_nothing_and_a_removed_folder_is_made_again() {
    let (_dir, state) = state();
    assert!(read(&state).records.is_empty());
    record(&state, &rec("web", 0, 10)).unwrap();
    fs::remove_dir_all(state.root()).unwrap();
    record(&state, &rec("web", 1, 11)).unwrap();
    assert_eq!(read(&state).records, vec![rec("web", 1, 11)]);
}

#[test]
fn a_torn_line_is_damage_and_never_swallows_the_next_one() {
    let (_dir, state) = state();
    record(&state, &rec("web", 0, 10)).unwrap();
    let mut file = OpenOptions::new()
        .append(true)
        .open(state.run_journal())
        .unwrap();
    file.write_all(b"{\"up\":{\"identity\":{").unwrap();
    record(&state, &rec("web", 1, 11)).unwrap();
    let read = read(&state);
    assert_eq!(read.records, vec![rec("web", 0, 10), rec("web", 1, 11)]);
    assert_eq!(read.damaged, 1);
    clear_damage(&state).unwrap();
    let read = super::read(&state);
    assert_eq!(read.records.len(), 2);
    assert_eq!(read.damaged, 0);
}

#[test]
fn a_writer_stuck_holding_the_lock_delays_a_reader_but_never_blocks_it() {
    let (_dir, state) = state();
    record(&state, &rec("web", 0, 10)).unwrap();
    // Another descriptor of the file, locked as a writer frozen mid-append leaves it.
    let stuck = File::open(state.run_journal()).unwrap();
    flock(&stuck, FlockOperation::LockExclusive).unwrap();
    let started = Instant::now();
    let read = read(&state);
    assert!(
        started.elapsed() >= READ_LOCK_PATIENCE,
        "{:?}",
        started.elapsed()
    );
    assert_eq!(read.records, vec![rec("web", 0, 10)]);
}

#[test]
fn a_replaced_journal_is_reopened_before_appending() {
    let (_dir, state) = state();
    record(&state, &rec("web", 0, 10)).unwrap();
    // Another process compacts it: a new file renamed over the one held open here.
    let line = fs::read(state.run_journal()).unwrap();
    orchestra_core::paths::atomic_replace(&state.run_journal(), &line).unwrap();
    record(&state, &rec("web", 1, 11)).unwrap();
    assert_eq!(
        read(&state).records,
        vec![rec("web", 0, 10), rec("web", 1, 11)]
    );
}

/// Records and forgets a replica until far more than [`COMPACT_FLOOR`] was written.
fn churn(state: &StateDir) -> usize {
    let mut written = 0;
    let mut pid = 10;
    while written < 3 * COMPACT_FLOOR as usize {
        let record = rec("web", 0, pid);
        written += serde_json::to_vec(&Written::Up(&record)).unwrap().len();
        super::record(state, &record).unwrap();
        forget(state, &id("web", 0)).unwrap();
        pid += 1;
    }
    written
}

#[test]
fn a_grown_journal_is_compacted_to_its_live_records_keeping_damage() {
    let (_dir, state) = state();
    fs::create_dir_all(state.run_dir()).unwrap();
    fs::write(state.run_journal(), b"garbage\n").unwrap();
    let written = churn(&state);
    record(&state, &rec("web", 1, 1)).unwrap();
    let size = fs::metadata(state.run_journal()).unwrap().len();
    assert!(
        size < COMPACT_FLOOR,
        "{size} bytes left of {written} written"
    );
    let read = read(&state);
    assert_eq!(read.records, vec![rec("web", 1, 1)]);
    assert_eq!(read.damaged, 1, "damage is only cleared by a stop");
}

#[test]
fn a_journal_with_nothing_live_is_emptied_in_place() {
    let (_dir, state) = state();
    let mut text = Vec::new();
    for pid in 0.. {
        if text.len() as u64 > COMPACT_FLOOR {
            break;
        }
        serde_json::to_writer(&mut text, &Written::Up(&rec("web", 0, pid))).unwrap();
        text.push(b'\n');
        let gone = Forgotten {
            service: ServiceName::new("web").unwrap(),
            replica: 0,
        };
        serde_json::to_writer(&mut text, &Written::Down(&gone)).unwrap();
        text.push(b'\n');
    }
    fs::create_dir_all(state.run_dir()).unwrap();
    fs::write(state.run_journal(), &text).unwrap();
    let inode = fs::metadata(state.run_journal()).unwrap().ino();
    forget(&state, &id("api", 0)).unwrap();
    let meta = fs::metadata(state.run_journal()).unwrap();
    assert_eq!(meta.len(), 0);
    assert_eq!(meta.ino(), inode, "emptied, not replaced");
    assert!(read(&state).records.is_empty());
}

#[test]
fn record_files_of_an_earlier_version_are_moved_into_the_journal() {
    let (_dir, state) = state();
    fs::create_dir_all(state.run_dir()).unwrap();
    let old = state.run_dir().join("web.0.json");
    fs::write(&old, serde_json::to_vec_pretty(&rec("web", 0, 10)).unwrap()).unwrap();
    fs::write(state.run_dir().join("api.0.json"), b"{\"identity\": {").unwrap();
    let read = read(&state);
    assert_eq!(read.records, vec![rec("web", 0, 10)]);
    assert_eq!(read.damaged, 1, "the file that does not read is damage");
    assert!(!old.exists(), "moved, not copied");
    assert_eq!(super::read(&state).records, vec![rec("web", 0, 10)]);
    clear_damage(&state).unwrap();
    let read = super::read(&state);
    assert_eq!((read.records.len(), read.damaged), (1, 0));
    assert!(!state.run_dir().join("api.0.json").exists());
}
