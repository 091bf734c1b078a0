//! `orchestra logs`: the fleet's output as one stream, from history then (with `-f`) live.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::time::SystemTime;

use orchestra_config::Section;
use orchestra_core::spec::ProjectSpec;
use orchestra_core::{ServiceName, StateDir, VendorName};
use orchestra_logs::{
    Follow, FollowOptions, Formatter, LogKind, LogLine, LogSource, Query, Resume, Selection,
    SkipBehind, Start, write_json_line,
};

use crate::args::LogsArgs;
use crate::context::Context;
use crate::error::CliError;
use crate::hooks::{self, When};

/// Prints the last `-n` lines of each selected replica and vendor, then follows with `-f`
/// until Ctrl-C or a closed pipe.
pub async fn run(cx: &mut Context, args: &LogsArgs) -> Result<(), CliError> {
    let project = cx.resolve_running(Section::Logs)?;
    // Vendors are sources like services: `logs redis`, `logs api redis`, `logs ~redis`.
    let services: Vec<ServiceName> = project.services.keys().cloned().collect();
    let vendors: Vec<VendorName> = project.vendors.keys().cloned().collect();
    let groups = cx.groups()?;
    let picked =
        orchestra_config::select_sources(&services, &vendors, &groups, &args.select.services)?;
    if !args.select.services.is_empty() && picked.services.is_empty() && picked.vendors.is_empty() {
        return Err(CliError::usage(
            format!(
                "`{}` leaves nothing to show",
                args.select.services.join(" ")
            ),
            "leave out fewer services and vendors",
        ));
    }
    let query = query(args)?;
    hooks::run(&project, When::Before)?;
    let state = crate::daemon::peer::trusted_state(&project)?;
    let mut selection = Selection::all().kinds(&[LogKind::Service, LogKind::Vendor]);
    if !args.select.services.is_empty() {
        let names = picked.services.iter().map(ToString::to_string);
        selection = selection.units(names.chain(picked.vendors.iter().map(ToString::to_string)));
    }
    let mut formatter = Formatter::new(&[], cx.out.color, args.timestamps);
    if !picked.services.is_empty() {
        expect_replicas(
            &mut formatter,
            &state,
            &project,
            &picked.services,
            &BTreeMap::new(),
        );
    }
    let view = View {
        json: args.json,
        formatter,
    };
    let result = show(&state, selection, query, args.lines, args.follow, view).await;
    match result {
        Err(CliError::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
            Ok(())
        }
        Err(e) => Err(e),
        Ok(()) => hooks::run(&project, When::After),
    }
}

/// Tells `formatter` about every replica the configuration gives `services` (all when
/// empty; `scale` overrides the configured counts). Without this a service's label would
/// change mid-stream: `users` while only replica 0 has written, `users.0` once replica 1
/// appears.
pub fn expect_replicas(
    formatter: &mut Formatter,
    state: &StateDir,
    project: &ProjectSpec,
    services: &[ServiceName],
    scale: &BTreeMap<ServiceName, u32>,
) {
    let logs_dir = state.logs_dir();
    for (name, spec) in &project.services {
        if !services.is_empty() && !services.contains(name) {
            continue;
        }
        let replicas = scale.get(name).copied().unwrap_or(spec.scale);
        for i in 0..replicas {
            if let Some(source) = LogSource::from_path(&logs_dir.join(format!("{name}.{i}.log"))) {
                formatter.add_source(&source);
            }
        }
    }
}

/// How lines are printed.
pub struct View {
    /// One JSON object per line.
    pub json: bool,
    /// The `name.n |` formatter.
    pub formatter: Formatter,
}

impl View {
    fn write(&mut self, out: &mut impl Write, line: &LogLine) -> std::io::Result<()> {
        if self.json {
            write_json_line(line, out)
        } else {
            self.formatter.write_line(line, out)
        }
    }
}

fn query(args: &LogsArgs) -> Result<Query, CliError> {
    let mut query = Query::new();
    if let Some(re) = &args.grep {
        query = query.grep(re).map_err(|e| {
            CliError::usage(
                format!("--grep {re:?} is not a valid regular expression: {e}"),
                "use Rust regex syntax, e.g. --grep 'ERROR|WARN'",
            )
        })?;
    }
    if let Some(since) = &args.since {
        let at = orchestra_logs::parse_since(since, SystemTime::now()).map_err(|e| {
            CliError::usage(
                format!("--since {since:?}: {e}"),
                "give a duration (10m, 1h30m) or a time (2026-01-31T10:00:00, 10:00)",
            )
        })?;
        query = query.since(at);
    }
    Ok(query)
}

/// Prints every line of the history as it is read, without holding it in memory (`logs`
/// of a large log folder is piped into grep).
fn print_all(
    sources: &[LogSource],
    query: &Query,
    view: &mut View,
    out: &mut impl Write,
) -> Result<Resume, CliError> {
    let failed = CliError::logs("cannot read the logs");
    let mut stream = orchestra_logs::stream_history(sources, query).map_err(failed)?;
    while let Some(line) = stream.next_line().map_err(failed)? {
        view.write(out, line).map_err(stdout_error)?;
    }
    Ok(stream.into_resume())
}

/// Prints the last `lines` lines of each source, read backwards from the end.
fn print_last(
    sources: &[LogSource],
    lines: usize,
    query: &Query,
    view: &mut View,
    out: &mut impl Write,
) -> Result<Resume, CliError> {
    let history = orchestra_logs::read_history(sources, lines, query)
        .map_err(CliError::logs("cannot read the logs"))?;
    for line in &history.lines {
        view.write(out, line).map_err(stdout_error)?;
    }
    Ok(history.resume)
}

/// A failed write to stdout (made only on failure: lines are written by the million).
fn stdout_error(e: std::io::Error) -> CliError {
    CliError::io("writing to stdout")(e)
}

/// Prints the last `lines` lines of each selected source (all of them for `None`, none
/// for 0, as `tail -n 0`), then follows them when `follow`, until Ctrl-C or a closed pipe.
///
/// Following prints on a thread of its own: a write to a terminal or pipe that reads
/// slowly blocks, and Ctrl-C must end the command at once rather than after it. A source
/// that writes faster than the output is read is skipped ahead (see
/// [`orchestra_logs::SkipBehind`]) instead of making the stream fall ever further behind.
pub async fn show(
    state: &StateDir,
    selection: Selection,
    query: Query,
    lines: Option<usize>,
    follow: bool,
    view: View,
) -> Result<(), CliError> {
    let printing = Printing {
        state: state.clone(),
        selection,
        query,
        lines,
        follow,
        view,
    };
    if !follow {
        return printing.run();
    }
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(CliError::io("handling Ctrl-C"))?;
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("orchestra-print".into())
        .spawn(move || {
            let _ = done_tx.send(printing.run());
        })
        .map_err(CliError::io("starting the printing thread"))?;
    tokio::select! {
        done = done_rx => done.unwrap_or_else(|_| Err(CliError::Lost("printing the logs"))),
        // The printing thread may be blocked in a write: it ends with the process.
        _ = interrupt.recv() => Ok(()),
    }
}

/// What [`show`] prints.
struct Printing {
    state: StateDir,
    selection: Selection,
    query: Query,
    lines: Option<usize>,
    follow: bool,
    view: View,
}

impl Printing {
    fn run(mut self) -> Result<(), CliError> {
        let logs_dir = self.state.logs_dir();
        let io = |what: &str| CliError::io(what.to_owned());
        let sources = orchestra_logs::discover(&logs_dir, &self.selection)
            .map_err(CliError::logs("cannot list the logs"))?;
        for source in &sources {
            self.view.formatter.add_source(source);
        }
        let stdout = std::io::stdout();
        let mut out = BufWriter::with_capacity(256 << 10, stdout.lock());
        let resume = match self.lines {
            None => print_all(&sources, &self.query, &mut self.view, &mut out)?,
            Some(0) => orchestra_logs::history_end(&sources)
                .map_err(CliError::logs("cannot read the logs"))?,
            Some(lines) => print_last(&sources, lines, &self.query, &mut self.view, &mut out)?,
        };
        out.flush().map_err(io("writing to stdout"))?;
        if !self.follow {
            return Ok(());
        }
        drop(out);

        if !logs_dir.exists() {
            self.state
                .create()
                .map_err(io("creating the state folder"))?;
        }
        let options = FollowOptions {
            query: self.query,
            skip: Some(SkipBehind::default()),
            ..FollowOptions::default()
        };
        let mut follow = Follow::start(&logs_dir, self.selection, Start::Resume(resume), options)
            .map_err(CliError::logs("cannot follow the logs"))?;
        while let Some(batch) = follow.blocking_recv_batch() {
            let mut out = BufWriter::with_capacity(256 << 10, stdout.lock());
            for line in &batch {
                self.view.write(&mut out, line).map_err(stdout_error)?;
            }
            out.flush().map_err(io("writing to stdout"))?;
        }
        Ok(())
    }
}
