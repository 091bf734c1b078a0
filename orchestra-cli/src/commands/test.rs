//! `orchestra test`: every selected service's unit tests, in parallel, with one summary.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use orchestra_config::Section;
use orchestra_core::spec::{CommandSpec, ServiceKind, ServiceSpec};
use tokio::io::AsyncReadExt;
use tokio::sync::{Semaphore, mpsc};

use super::junit::{self, GoTestEvent, Suite};
use crate::args::TestArgs;
use crate::context::Context;
use crate::error::CliError;
use crate::hooks::{self, When};
use crate::output::Output;

/// The result of one service's tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every test passed.
    Pass,
    /// A test failed, or the command did.
    Fail,
    /// The service has no tests.
    NoTests,
}

/// One service's run.
pub(crate) struct Run {
    pub service: String,
    pub verdict: Verdict,
    pub duration: Duration,
    pub output: String,
    pub suite: Suite,
}

/// Runs the tests and prints a summary; fails naming the services whose tests failed.
pub async fn run(cx: &mut Context, args: &TestArgs) -> Result<(), CliError> {
    let project = cx.resolve(Section::Test)?;
    let selected = cx.select(&args.select.services)?;
    let Some(selected) = super::affected::narrow(&project, selected, args, cx.out)? else {
        return Ok(());
    };
    hooks::run(&project, When::Before)?;
    let out = cx.out;
    let stream = out.verbose > 0;
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from))
        .max(1);
    let limit = Arc::new(Semaphore::new(jobs));
    let width = selected.iter().map(|s| s.as_str().len()).max().unwrap_or(0);
    let (lines_tx, mut lines_rx) = mpsc::unbounded_channel::<String>();

    let mut tasks = Vec::new();
    for name in &selected {
        let service = project.services[name].clone();
        let command = test_command(&service, args.race, stream, args.junit.is_some());
        let limit = Arc::clone(&limit);
        let lines = stream.then(|| lines_tx.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await;
            run_one(service, command, lines, width).await
        }));
    }
    drop(lines_tx);

    // Under -v, lines are printed as they come; otherwise each service's output is printed
    // whole when it finishes, so outputs never interleave.
    let printer = tokio::spawn(async move {
        let mut stdout = std::io::stdout();
        while let Some(line) = lines_rx.recv().await {
            let _ = writeln!(stdout, "{line}");
        }
    });
    let mut runs = Vec::new();
    for task in tasks {
        let run = task.await.map_err(|_| CliError::Lost("a test run"))??;
        if !stream && !out.quiet && (run.verdict == Verdict::Fail || out.verbose > 0) {
            print_grouped(&run, out);
        }
        runs.push(run);
    }
    let _ = printer.await;

    if args.acceptance {
        // The fleet runs as `start` resolved it: what must be started is started the same
        // way, so that nothing already running looks changed and gets replaced.
        let as_started = cx.resolve(Section::Start)?;
        runs.extend(super::acceptance::run(&project, &as_started, &selected, out, width).await?);
    }
    if let Some(path) = &args.junit {
        let suites: Vec<&Suite> = runs.iter().map(|r| &r.suite).collect();
        std::fs::write(path, junit::render(&suites))
            .map_err(CliError::io(format!("writing {}", path.display())))?;
    }
    if !out.quiet {
        print!("{}", summary(&runs, out));
    }
    let failed: Vec<&str> = runs
        .iter()
        .filter(|r| r.verdict == Verdict::Fail)
        .map(|r| r.service.as_str())
        .collect();
    if !failed.is_empty() {
        return Err(CliError::TestsFailed(
            failed.into_iter().map(str::to_owned).collect(),
        ));
    }
    hooks::run(&project, When::After)
}

/// The service's test command, with `-race`, `-v` and `-json` added to a `go test` run.
fn test_command(
    service: &ServiceSpec,
    race: bool,
    verbose: bool,
    json: bool,
) -> Option<CommandSpec> {
    let command = service.test.clone()?;
    let CommandSpec::Exec(argv) = &command else {
        return Some(command);
    };
    if service.kind != ServiceKind::Go || argv.len() < 2 || argv[0] != "go" || argv[1] != "test" {
        return Some(command);
    }
    let mut flags = Vec::new();
    if race {
        flags.push("-race".to_owned());
    }
    if verbose && !json {
        flags.push("-v".to_owned());
    }
    if json {
        flags.push("-json".to_owned());
    }
    let mut with_flags = argv[..2].to_vec();
    with_flags.extend(flags);
    with_flags.extend_from_slice(&argv[2..]);
    Some(CommandSpec::Exec(with_flags))
}

async fn run_one(
    service: ServiceSpec,
    command: Option<CommandSpec>,
    lines: Option<mpsc::UnboundedSender<String>>,
    width: usize,
) -> Result<Run, CliError> {
    let mut env = service.env.clone();
    env.insert("ORCHESTRA_SERVICE".into(), service.name.to_string());
    let target = Target {
        name: service.name.to_string(),
        dir: service.dir.clone(),
        env,
    };
    run_command(target, command, lines, width).await
}

/// Where and how a test command runs.
pub(crate) struct Target {
    /// The name shown in the summary.
    pub name: String,
    /// Working directory.
    pub dir: std::path::PathBuf,
    /// Environment added to Orchestra's own.
    pub env: orchestra_core::spec::Env,
}

/// Runs one test command, capturing its output (and streaming it when `lines` is given).
pub(crate) async fn run_command(
    target: Target,
    command: Option<CommandSpec>,
    lines: Option<mpsc::UnboundedSender<String>>,
    width: usize,
) -> Result<Run, CliError> {
    let Target { name, dir, env } = target;
    let Some(command) = command else {
        return Ok(Run {
            suite: Suite::single(&name, Duration::ZERO, None),
            service: name,
            verdict: Verdict::NoTests,
            duration: Duration::ZERO,
            output: String::new(),
        });
    };
    let started = Instant::now();
    let argv = command.argv();
    let (reader, writer) = std::io::pipe().map_err(CliError::io("creating a pipe"))?;
    let writer_err = writer
        .try_clone()
        .map_err(CliError::io("duplicating a pipe"))?;
    let mut child = tokio::process::Command::new(&argv[0])
        .args(&argv[1..])
        .current_dir(&dir)
        .envs(&env)
        .stdin(std::process::Stdio::null())
        .stdout(writer)
        .stderr(writer_err)
        .kill_on_drop(true)
        .spawn()
        .map_err(CliError::io(format!("running `{command}` for {name}")))?;
    let mut raw = Vec::new();
    let mut reader = tokio::net::unix::pipe::Receiver::from_owned_fd(reader.into())
        .map_err(CliError::io("reading test output"))?;
    let mut partial = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader
            .read(&mut buf)
            .await
            .map_err(CliError::io("reading test output"))?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(tx) = &lines {
            partial.extend_from_slice(&buf[..n]);
            while let Some(pos) = partial.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = partial.drain(..=pos).collect();
                let text = String::from_utf8_lossy(&line[..line.len() - 1]);
                // Under --junit, Go prints JSON events: show their output, not the JSON.
                let shown = match serde_json::from_str::<GoTestEvent>(&text) {
                    Ok(event) => match event.output {
                        Some(o) => o.trim_end_matches('\n').to_owned(),
                        None => continue,
                    },
                    Err(_) => text.into_owned(),
                };
                let _ = tx.send(format!("{name:>width$} | {shown}"));
            }
        }
    }
    let status = child
        .wait()
        .await
        .map_err(CliError::io(format!("waiting for the tests of {name}")))?;
    let duration = started.elapsed();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let go_events: Vec<GoTestEvent> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let output = if go_events.is_empty() {
        text
    } else {
        go_events
            .iter()
            .filter_map(|e| e.output.as_deref())
            .collect()
    };
    let verdict = if !status.success() {
        Verdict::Fail
    } else if has_no_tests(&output) {
        Verdict::NoTests
    } else {
        Verdict::Pass
    };
    let failure = (verdict == Verdict::Fail).then_some(output.as_str());
    let suite = if go_events.is_empty() {
        Suite::single(&name, duration, failure)
    } else {
        Suite::from_go(&name, &go_events, duration, failure)
    };
    Ok(Run {
        service: name,
        verdict,
        duration,
        output,
        suite,
    })
}

/// Go prints `[no test files]` for each package without tests and `ok` lines for the others.
fn has_no_tests(output: &str) -> bool {
    let mut saw_package = false;
    for line in output.lines() {
        if line.contains("[no test files]") {
            saw_package = true;
        } else if line.starts_with("ok ") || line.starts_with("ok\t") || line.starts_with("--- ") {
            return false;
        }
    }
    saw_package
}

pub(crate) fn print_grouped(run: &Run, out: Output) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{}", out.bold(&format!("── {} ──", run.service)));
    let _ = stdout.write_all(run.output.as_bytes());
    if !run.output.ends_with('\n') && !run.output.is_empty() {
        let _ = writeln!(stdout);
    }
}

pub(crate) fn summary(runs: &[Run], out: Output) -> String {
    let width = runs
        .iter()
        .map(|r| r.service.len())
        .max()
        .unwrap_or(0)
        .max(7);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}",
        out.bold(&format!("{:<width$}  {:<8}  TIME", "SERVICE", "RESULT"))
    );
    for run in runs {
        let verdict = match run.verdict {
            Verdict::Pass => out.green(&format!("{:<8}", "PASS")),
            Verdict::Fail => out.red(&format!("{:<8}", "FAIL")),
            Verdict::NoTests => out.dim(&format!("{:<8}", "no tests")),
        };
        let _ = writeln!(
            s,
            "{:<width$}  {verdict}  {:.2}s",
            run.service,
            run.duration.as_secs_f64()
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_packages_without_tests() {
        assert!(has_no_tests("?   \texample.com/x\t[no test files]\n"));
        assert!(!has_no_tests(
            "ok  \texample.com/x\t0.01s\n?  \ty\t[no test files]\n"
        ));
        assert!(!has_no_tests(""));
    }
}
