//! A throw-away project on disk and the `orchestra` commands run in it.

use std::cell::RefCell;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tempfile::TempDir;

use crate::bin::{orchestra_bin, try_orchestra_bin};
use crate::cmd::Cmd;
use crate::go::{fixture_binary, fixture_dir};
use crate::net::free_port_block;
use crate::procs::kill_all_under;

/// Set to keep a fleet's folder after the test, to look at its `.orchestra/` afterwards.
const KEEP_ENV: &str = "ORCHESTRA_TEST_KEEP";

/// A project in its own temporary folder. Build it with the consuming methods
/// (`file`, `service`, …), then run commands with [`Fleet::cmd`].
///
/// Dropping it stops the fleet (`orchestra stop`) and then SIGKILLs every process still
/// running inside the folder, so a failing test never leaks processes into the next one.
/// When the test is failing, the daemon's log and the services' logs are printed first.
///
/// ```no_run
/// use orchestra_tests::Fleet;
///
/// let fleet = Fleet::new().orchestra_yml("").service("web", "run: sleep 60\n");
/// fleet.cmd(["start"]).assert_success();
/// ```
pub struct Fleet {
    dir: Option<TempDir>,
    root: PathBuf,
    redactions: RefCell<Vec<(String, String)>>,
}

impl Fleet {
    /// An empty project folder (no orchestra.yml yet).
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("orchestra-test-")
            .tempdir()
            .expect("cannot create a temp dir");
        // Canonical, so it matches what processes report as their cwd in /proc.
        let root = dir
            .path()
            .canonicalize()
            .expect("the temp dir has a canonical path");
        Fleet {
            dir: Some(dir),
            root,
            redactions: RefCell::new(Vec::new()),
        }
    }

    /// The project folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `rel` inside the project folder.
    pub fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.root.join(rel)
    }

    /// Adds a file (parents created).
    #[must_use]
    pub fn file(self, rel: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> Self {
        self.write(rel, contents);
        self
    }

    /// Writes a file now (parents created): for changes in the middle of a test.
    pub fn write(&self, rel: impl AsRef<Path>, contents: impl AsRef<[u8]>) {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("cannot create the file's folder");
        }
        fs::write(&path, contents)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }

    /// Reads a file of the project.
    pub fn read(&self, rel: impl AsRef<Path>) -> String {
        let path = self.path(rel);
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    }

    /// The journal of replica records (`.orchestra/run/replicas.jsonl`).
    pub fn journal(&self) -> PathBuf {
        self.path(".orchestra/run/replicas.jsonl")
    }

    /// The live replica records, as the journal's lines say when replayed (the last line
    /// about a replica wins); lines that do not parse are left out.
    pub fn records(&self) -> Vec<serde_json::Value> {
        let text = fs::read_to_string(self.journal()).unwrap_or_default();
        let mut live: Vec<serde_json::Value> = Vec::new();
        for line in text.lines() {
            let Ok(line) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            let (record, up) = match (line.get("up"), line.get("down")) {
                (Some(r), _) => (r, true),
                (None, Some(r)) => (r, false),
                (None, None) => continue,
            };
            let same = |r: &serde_json::Value| {
                r["service"] == record["service"] && r["replica"] == record["replica"]
            };
            live.retain(|r| !same(r));
            if up {
                live.push(record.clone());
            }
        }
        live
    }

    /// The live record of a replica, if the journal has one.
    pub fn record(&self, service: &str, replica: u32) -> Option<serde_json::Value> {
        self.records()
            .into_iter()
            .find(|r| r["service"] == service && r["replica"] == replica)
    }

    /// Appends `line` to the journal of replica records, as a writer would (a damaged line
    /// too: the caller decides what it holds).
    pub fn append_journal(&self, line: &str) {
        use std::io::Write;
        let path = self.journal();
        fs::create_dir_all(path.parent().expect("the journal is in a folder"))
            .expect("cannot create the run folder");
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
        writeln!(file, "{line}").unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }

    /// Records `record` in the journal as a replica's current run.
    pub fn append_record(&self, record: &serde_json::Value) {
        self.append_journal(&serde_json::json!({ "up": record }).to_string());
    }

    /// Writes `orchestra.yml`.
    #[must_use]
    pub fn orchestra_yml(self, contents: &str) -> Self {
        self.file("orchestra.yml", contents)
    }

    /// Adds service `name`: a folder holding `service.yml`.
    #[must_use]
    pub fn service(self, name: &str, service_yml: &str) -> Self {
        self.file(Path::new(name).join("service.yml"), service_yml)
    }

    /// Adds service `name` from the sources of Go fixture `fixture`, which orchestra
    /// builds itself (as it would a real Go service).
    #[must_use]
    pub fn go_service(self, name: &str, fixture: &str, service_yml: &str) -> Self {
        self.copy_dir(fixture_dir(fixture), name)
            .service(name, service_yml)
    }

    /// Adds service `name` that runs the prebuilt binary of Go fixture `fixture`
    /// (`run: [<binary>]` prepended to `service_yml`): no build, so fast to start.
    #[must_use]
    pub fn fixture_service(self, name: &str, fixture: &str, service_yml: &str) -> Self {
        let bin = fixture_binary(fixture);
        let yml = format!("run: [{:?}]\n{service_yml}", bin.display().to_string());
        self.service(name, &yml)
    }

    /// Copies the folder `src` (recursively; `.orchestra/` excluded) to `dest` in the project.
    #[must_use]
    pub fn copy_dir(self, src: impl AsRef<Path>, dest: impl AsRef<Path>) -> Self {
        copy_tree(src.as_ref(), &self.path(dest));
        self
    }

    /// A block of `n` free consecutive ports for this fleet's services; the ports are
    /// redacted as `[PORT]`, `[PORT+1]`, … by [`crate::redact`].
    pub fn ports(&self, n: u16) -> u16 {
        let base = free_port_block(n);
        for i in 0..n {
            let placeholder = if i == 0 {
                "[PORT]".to_owned()
            } else {
                format!("[PORT+{i}]")
            };
            self.redact_as((base + i).to_string(), placeholder);
        }
        base
    }

    /// Makes [`crate::redact`] replace `value` (as a whole word) with `placeholder`.
    pub fn redact_as(&self, value: impl Into<String>, placeholder: impl Into<String>) {
        self.redactions
            .borrow_mut()
            .push((value.into(), placeholder.into()));
    }

    /// The `(value, placeholder)` pairs registered with [`Fleet::redact_as`].
    pub fn redactions(&self) -> Vec<(String, String)> {
        self.redactions.borrow().clone()
    }

    /// `orchestra args…`, run in the project folder.
    pub fn cmd<I, S>(&self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Cmd::new(orchestra_bin(), args, &self.root)
    }

    /// Prints what helps to understand a failure: the daemon's log and every service log.
    fn print_diagnostics(&self) {
        eprintln!("fleet folder: {}", self.root.display());
        let state = self.path(".orchestra");
        let mut files = vec![state.join("daemon.log")];
        if let Ok(entries) = fs::read_dir(state.join("logs")) {
            let mut logs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            logs.sort();
            files.extend(logs);
        }
        for file in files {
            if let Ok(text) = fs::read_to_string(&file) {
                let tail: Vec<&str> = text.lines().rev().take(40).collect();
                eprintln!("--- {} (last {} lines) ---", file.display(), tail.len());
                for line in tail.iter().rev() {
                    eprintln!("{line}");
                }
            }
        }
    }
}

impl Default for Fleet {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        // Nothing here may panic: we may already be unwinding from a failed assertion.
        let started = self.path(".orchestra").exists();
        if let (true, Ok(bin)) = (started, try_orchestra_bin()) {
            let _ = Cmd::new(bin, ["stop"], &self.root)
                .timeout(Duration::from_secs(60))
                .try_run();
        }
        let failing = std::thread::panicking();
        if failing && started {
            self.print_diagnostics();
        }
        let leaked = kill_all_under(&self.root, Duration::from_secs(10));
        if !leaked.is_empty() && !failing {
            // Not a panic (that would abort while unwinding elsewhere), but never silent.
            eprintln!("fleet cleanup killed leftover processes: {leaked:?}");
        }
        if std::env::var_os(KEEP_ENV).is_some()
            && let Some(dir) = self.dir.take()
        {
            eprintln!("kept fleet folder {}", dir.keep().display());
        }
    }
}

fn copy_tree(src: &Path, dest: &Path) {
    fs::create_dir_all(dest).unwrap_or_else(|e| panic!("cannot create {}: {e}", dest.display()));
    let entries =
        fs::read_dir(src).unwrap_or_else(|e| panic!("cannot read {}: {e}", src.display()));
    for entry in entries.flatten() {
        let (from, to) = (entry.path(), dest.join(entry.file_name()));
        if entry.file_name() == ".orchestra" {
            continue;
        }
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            copy_tree(&from, &to);
        } else {
            fs::copy(&from, &to).unwrap_or_else(|e| panic!("cannot copy {}: {e}", from.display()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::procs::process_alive;
    use std::process::Command;

    #[test]
    fn builder_writes_the_project() {
        let fleet = Fleet::new()
            .orchestra_yml("env: {}\n")
            .service("web", "port: 1\n")
            .file("a/b/c.txt", "x");
        assert_eq!(fleet.read("orchestra.yml"), "env: {}\n");
        assert_eq!(fleet.read("web/service.yml"), "port: 1\n");
        assert_eq!(fleet.read("a/b/c.txt"), "x");
    }

    #[test]
    fn dropping_a_fleet_kills_what_runs_inside_it_and_removes_the_folder() {
        let fleet = Fleet::new();
        let mut child = Command::new("sleep")
            .arg("60")
            .current_dir(fleet.root())
            .spawn()
            .unwrap();
        let (pid, root) = (child.id(), fleet.root().to_path_buf());
        drop(fleet);
        child.wait().unwrap();
        assert!(!process_alive(pid));
        assert!(!root.exists());
    }

    #[test]
    fn ports_are_registered_for_redaction() {
        let fleet = Fleet::new();
        let base = fleet.ports(2);
        assert_eq!(
            fleet.redactions(),
            vec![
                (base.to_string(), "[PORT]".to_owned()),
                ((base + 1).to_string(), "[PORT+1]".to_owned())
            ]
        );
    }
}
