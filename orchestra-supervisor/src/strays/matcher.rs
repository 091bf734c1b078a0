//! Whether a process runs a service: pure decisions over what `/proc` showed of it.

use std::path::{Path, PathBuf};

use orchestra_core::ServiceName;
use orchestra_core::spec::{CommandSpec, ServiceKind, ServiceSpec};

use super::StrayReason;
use super::proc::{Canon, resolve};
use super::words::{Glob, first_command};

/// What a scan saw of one process.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seen<'a> {
    pub argv: &'a [String],
    pub cwd: &'a Path,
    pub exe: Option<&'a Path>,
}

/// One service, prepared for matching many processes.
#[derive(Debug)]
pub(crate) struct ServiceMatcher {
    pub name: ServiceName,
    /// The service folder, symlinks resolved like the kernel shows them.
    pub dir: PathBuf,
    /// The built binary, resolved the same way.
    pub binary: Option<PathBuf>,
    go: bool,
    /// The project root, resolved, for showing paths.
    root: PathBuf,
    run: RunMatcher,
}

impl ServiceMatcher {
    pub fn new(spec: &ServiceSpec, root: &Path, canon: &mut Canon) -> Self {
        let dir = canon.get(&spec.dir);
        Self {
            name: spec.name.clone(),
            binary: spec.binary.as_deref().map(|b| canon.get(b)),
            go: spec.kind == ServiceKind::Go,
            root: root.to_path_buf(),
            run: RunMatcher::new(&spec.run, &dir, canon),
            dir,
        }
    }

    /// How `p` runs this service, if it does. `cwd_here` says the process's working
    /// directory is in this service's folder (and in no deeper service's).
    pub fn matches(&self, p: Seen<'_>, cwd_here: bool) -> Option<StrayReason> {
        let exe_here = p.exe.is_some_and(|e| e.starts_with(&self.dir));
        if let Some(exe) = p.exe
            && (self.binary.as_deref() == Some(exe) || (self.go && exe_here))
        {
            return Some(StrayReason::BuiltBinary {
                binary: self.shown(exe),
            });
        }
        if cwd_here && is_go_run(p.argv) {
            let mut dir = self.shown(&self.dir).into_os_string();
            dir.push("/");
            return Some(StrayReason::GoRun { dir: dir.into() });
        }
        if cwd_here && p.exe.is_some_and(is_go_build_temp) {
            return Some(StrayReason::GoBuildTemp);
        }
        if (cwd_here || exe_here) && self.run.matches(p) {
            return Some(StrayReason::RunCommand {
                program: self.run.shown.clone(),
                service: self.name.clone(),
            });
        }
        None
    }

    /// `path` relative to the project root when inside it (`.` for the root itself).
    fn shown(&self, path: &Path) -> PathBuf {
        match path.strip_prefix(&self.root) {
            Ok(rel) if rel.as_os_str().is_empty() => ".".into(),
            Ok(rel) => rel.to_path_buf(),
            Err(_) => path.to_path_buf(),
        }
    }
}

fn basename(arg: &str) -> &str {
    arg.rsplit('/').next().unwrap_or(arg)
}

fn is_go_run(argv: &[String]) -> bool {
    argv.first().is_some_and(|a| basename(a) == "go") && argv.get(1).is_some_and(|a| a == "run")
}

fn is_go_build_temp(exe: &Path) -> bool {
    exe.to_str()
        .is_some_and(|e| e.contains("/go-build") && e.contains("/exe/"))
}

fn is_shell(arg: &str) -> bool {
    matches!(
        basename(arg).trim_start_matches('-'),
        "sh" | "bash" | "dash" | "zsh" | "fish" | "ksh" | "mksh" | "ash" | "busybox"
    )
}

/// Whether `arg` names a script interpreter (an editor or pager opening the script is not
/// running it).
fn is_interpreter(arg: &str) -> bool {
    let name = basename(arg);
    is_shell(name)
        || ["python", "perl", "ruby", "node", "php", "deno", "bun"]
            .iter()
            .any(|i| name.starts_with(i))
}

/// The program of a `run` command, as a process running it would show it.
#[derive(Debug)]
enum Program {
    /// Written as a path (`./start.sh`, `/opt/x`): resolved against the service folder.
    Path(PathBuf),
    /// A name looked up in PATH (`python3`): the whole command line must match too, since
    /// the name alone says little.
    Name(String),
}

#[derive(Debug)]
struct RunMatcher {
    program: Option<Program>,
    /// The words of the (first) command, for [`Program::Name`].
    words: Vec<Glob>,
    /// The whole string of a shell command, for its `sh -c` wrapper.
    script: Option<Glob>,
    /// The program as written.
    shown: String,
}

impl RunMatcher {
    fn new(run: &CommandSpec, dir: &Path, canon: &mut Canon) -> Self {
        let (words, script) = match run {
            CommandSpec::Shell(s) => (first_command(s), Some(Glob::new(s))),
            CommandSpec::Exec(v) => (v.clone(), None),
        };
        let shown = words.first().cloned().unwrap_or_default();
        let program = words.first().map(|w| {
            if w.contains('/') {
                Program::Path(canon.get(&resolve(dir, Path::new(w))))
            } else {
                Program::Name(w.clone())
            }
        });
        Self {
            program,
            words: words.iter().map(|w| Glob::new(w)).collect(),
            script,
            shown,
        }
    }

    fn matches(&self, p: Seen<'_>) -> bool {
        let argv = p.argv;
        if let (Some(script), [shell, dash_c, body, ..]) = (&self.script, argv)
            && is_shell(shell)
            && dash_c == "-c"
            && script.matches(body)
        {
            return true;
        }
        match &self.program {
            // The program itself, or a script run by its interpreter: the kernel turns
            // `./start.sh` into argv `/bin/sh ./start.sh`.
            Some(Program::Path(path)) => {
                let at = |arg: &String| resolve(p.cwd, Path::new(arg)) == *path;
                p.exe == Some(path.as_path())
                    || argv.first().is_some_and(at)
                    || (argv.first().is_some_and(|a| is_interpreter(a))
                        && argv.get(1).is_some_and(at))
            }
            Some(Program::Name(name)) => {
                argv.len() == self.words.len()
                    && argv.first().is_some_and(|a| basename(a) == name)
                    && self.words[1..]
                        .iter()
                        .zip(&argv[1..])
                        .all(|(w, a)| w.matches(a))
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    pub(crate) fn spec(name: &str, kind: ServiceKind, run: CommandSpec) -> ServiceSpec {
        ServiceSpec {
            kind,
            binary: (kind == ServiceKind::Go).then(|| format!("/p/.orchestra/bin/{name}").into()),
            stop_timeout: Duration::from_secs(5),
            ..ServiceSpec::command(ServiceName::new(name).unwrap(), format!("/p/{name}"), run)
        }
    }

    fn argv(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_owned).collect()
    }

    fn check(m: &ServiceMatcher, line: &str, cwd: &str, exe: &str) -> Option<String> {
        let argv = argv(line);
        let cwd = Path::new(cwd);
        let here = cwd.starts_with(&m.dir);
        let seen = Seen {
            argv: &argv,
            cwd,
            exe: Some(Path::new(exe)),
        };
        m.matches(seen, here).map(|r| r.to_string())
    }

    #[test]
    fn go_service_matches_its_binary_go_run_and_the_temp_binary() {
        let bin = CommandSpec::Exec(vec!["/p/.orchestra/bin/users".into()]);
        let m = ServiceMatcher::new(
            &spec("users", ServiceKind::Go, bin),
            Path::new("/p"),
            &mut Canon::default(),
        );
        let built = Some("runs the built binary .orchestra/bin/users".to_owned());
        assert_eq!(
            check(
                &m,
                "/p/.orchestra/bin/users",
                "/p/users",
                "/p/.orchestra/bin/users"
            ),
            built
        );
        // Started from elsewhere: the exact built binary is the service's all the same.
        assert_eq!(check(&m, "x", "/home", "/p/.orchestra/bin/users"), built);
        assert_eq!(
            check(&m, "./users", "/p/users", "/p/users/users").as_deref(),
            Some("runs the built binary users/users")
        );
        assert_eq!(
            check(&m, "go run .", "/p/users/cmd", "/usr/lib/go/bin/go").as_deref(),
            Some("`go run` in users/")
        );
        assert_eq!(
            check(
                &m,
                "/tmp/go-build1/b001/exe/users",
                "/p/users",
                "/tmp/go-build1/b001/exe/users"
            )
            .as_deref(),
            Some("the temporary binary `go run` built")
        );
        assert_eq!(check(&m, "go run .", "/p/other", "/usr/bin/go"), None);
        assert_eq!(
            check(
                &m,
                "/tmp/go-build1/b001/exe/x",
                "/p/other",
                "/tmp/go-build1/b001/exe/x"
            ),
            None
        );
        for line in ["bash", "-bash", "vim main.go", "sleep 1000", "go build ."] {
            assert_eq!(
                check(&m, line, "/p/users", "/usr/bin/whatever"),
                None,
                "{line}"
            );
        }
    }

    #[test]
    fn run_command_matches_its_program_and_sh_c_wrapper() {
        let run = CommandSpec::Shell("./start.sh --port {port} && echo bye".into());
        let m = ServiceMatcher::new(
            &spec("worker", ServiceKind::Command, run),
            Path::new("/p"),
            &mut Canon::default(),
        );
        let yes = Some("runs `./start.sh` of worker".to_owned());
        assert_eq!(
            check(
                &m,
                "sh -c ./start.sh --port 9 && echo bye",
                "/p/worker",
                "/bin/dash"
            ),
            None
        );
        let wrapper = vec![
            "sh".to_owned(),
            "-c".into(),
            "./start.sh --port 9 && echo bye".into(),
        ];
        let seen = Seen {
            argv: &wrapper,
            cwd: Path::new("/p/worker"),
            exe: Some(Path::new("/bin/dash")),
        };
        assert_eq!(m.matches(seen, true).map(|r| r.to_string()), yes);
        assert_eq!(
            check(&m, "/bin/sh ./start.sh --port 9", "/p/worker", "/bin/dash"),
            yes
        );
        assert_eq!(
            check(&m, "/p/worker/start.sh", "/p/worker/sub", "/bin/dash"),
            yes
        );
        assert_eq!(
            check(&m, "/bin/sh ./start.sh", "/p/other", "/bin/dash"),
            None
        );
        assert_eq!(check(&m, "sh", "/p/worker", "/bin/dash"), None);
        assert_eq!(
            check(&m, "sh -c ./other.sh", "/p/worker", "/bin/dash"),
            None
        );
        assert_eq!(check(&m, "sleep 1000", "/p/worker", "/bin/sleep"), None);
        assert_eq!(
            check(&m, "vim ./start.sh", "/p/worker", "/usr/bin/vim"),
            None
        );
    }

    #[test]
    fn a_program_from_path_must_match_the_whole_command() {
        let run = CommandSpec::Exec(argv("python3 -m http.server {port}"));
        let m = ServiceMatcher::new(
            &spec("web", ServiceKind::Command, run),
            Path::new("/p"),
            &mut Canon::default(),
        );
        assert_eq!(
            check(
                &m,
                "/usr/bin/python3 -m http.server 8000",
                "/p/web",
                "/usr/bin/python3.11"
            )
            .as_deref(),
            Some("runs `python3` of web")
        );
        assert_eq!(check(&m, "python3", "/p/web", "/usr/bin/python3.11"), None);
        assert_eq!(
            check(
                &m,
                "python3 manage.py shell",
                "/p/web",
                "/usr/bin/python3.11"
            ),
            None
        );
        assert_eq!(
            check(
                &m,
                "python3 -m http.server 8000",
                "/home",
                "/usr/bin/python3.11"
            ),
            None
        );
    }
}
