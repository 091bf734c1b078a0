use super::*;
use std::fs::OpenOptions;

fn at(s: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(s)
}

#[test]
fn writer_keeps_an_entry_per_growth_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.0.log");
    let mut w = IndexWriter::new();
    assert!(!w.record_at(&log, at(10)).unwrap(), "missing file");
    fs::write(&log, "one\n").unwrap();
    assert!(w.record_at(&log, at(10)).unwrap());
    let mut f = OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(b"two\n").unwrap();
    let soon = at(10) + Duration::from_millis(3);
    assert!(w.record_at(&log, soon).unwrap(), "milliseconds apart");
    assert!(!w.record_at(&log, at(12)).unwrap(), "no growth");
    f.write_all(b"three\n").unwrap();
    assert!(w.record_at(&log, at(13)).unwrap());
    f.write_all(b"four\n").unwrap();
    assert!(w.record_at(&log, at(12)).unwrap(), "a clock set back");

    let index = Index::load(&log).unwrap();
    let lens: Vec<u64> = index.entries().iter().map(|e| e.len).collect();
    assert_eq!(lens, [4, 8, 14, 19]);
    assert_eq!(index.time_of(4), Some(at(10)));
    assert_eq!(index.time_of(5), Some(soon));
    assert_eq!(index.time_of(19), Some(at(13)), "kept in order");
    assert_eq!(index.time_of(20), None);
    assert_eq!(index.offset_before(soon), 4);
    assert_eq!(index.offset_before(at(5)), 0);

    let times: Vec<_> = line_times(&log).unwrap();
    assert_eq!(
        times,
        [
            (0, Some(at(10))),
            (4, Some(soon)),
            (8, Some(at(13))),
            (14, Some(at(13)))
        ]
    );
}

#[test]
fn torn_records_and_shrinking_files_reset_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.0.log");
    fs::write(&log, "0123456789\n").unwrap();
    let mut w = IndexWriter::new();
    assert!(w.record_at(&log, at(1)).unwrap());
    let mut idx = OpenOptions::new()
        .append(true)
        .open(index_path(&log))
        .unwrap();
    idx.write_all(b"torn").unwrap();
    fs::write(&log, "x\n").unwrap();
    assert!(w.record_at(&log, at(2)).unwrap());
    let index = Index::load(&log).unwrap();
    assert_eq!(
        index.entries(),
        [IndexEntry {
            len: 2,
            time: at(2)
        }]
    );
}

#[test]
fn an_empty_log_gets_no_sidecar_and_one_emptied_by_hand_resets_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.0.log");
    fs::write(&log, "").unwrap();
    let mut w = IndexWriter::new();
    assert!(!w.record_at(&log, at(1)).unwrap());
    assert!(!index_path(&log).exists(), "nothing to index yet");
    fs::write(&log, "one\n").unwrap();
    assert!(w.record_at(&log, at(2)).unwrap());
    fs::write(&log, "").unwrap();
    assert!(!w.record_at(&log, at(3)).unwrap());
    assert_eq!(Index::load(&log).unwrap().entries(), []);
}

#[test]
fn split_shifts_the_tail() {
    let index = Index::from_entries(
        [(10, 1), (20, 2), (30, 3)]
            .map(|(len, s)| IndexEntry { len, time: at(s) })
            .to_vec(),
    );
    let (head, tail) = index.split(20);
    assert_eq!(head.entries().len(), 2);
    assert_eq!(
        tail.entries(),
        [IndexEntry {
            len: 10,
            time: at(3)
        }]
    );
}
