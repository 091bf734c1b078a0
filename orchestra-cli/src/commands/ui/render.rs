//! Drawing the UI: the fleet table on top, the log pane below, a footer line, and the key
//! list over them on `?`. Everything fits 80×24; wider and taller terminals show more.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::time::SystemTime;

use chrono::{DateTime, Local};
use orchestra_core::ReplicaState;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Clear, Paragraph, Row as TableRow, Table};

use super::app::{App, Mode, Tone};
use super::fleet::Row;
use super::keys::{HELP, HINTS};
use super::logs::{Entry, Search, Stored};

/// Colours, or none (NO_COLOR, `--no-color`): then only bold and reverse video remain.
#[derive(Debug, Clone, Copy)]
pub(super) struct Theme {
    /// Whether colours are used.
    pub color: bool,
}

impl Theme {
    fn fg(self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    fn dim(self) -> Style {
        self.fg(Color::DarkGray)
    }

    fn state(self, state: ReplicaState) -> Style {
        match state {
            ReplicaState::Running => self.fg(Color::Green),
            ReplicaState::Crashed => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            ReplicaState::Backoff
            | ReplicaState::Waiting
            | ReplicaState::Building
            | ReplicaState::Starting => self.fg(Color::Yellow),
            ReplicaState::Stopping | ReplicaState::Stopped | ReplicaState::Exited => self.dim(),
        }
    }

    /// A unit's stable colour, the one `logs` gives it.
    fn unit(self, unit: &str) -> Style {
        self.fg(Color::Indexed(orchestra_logs::format::color_of(unit)))
    }

    fn tone(self, tone: Tone) -> Style {
        match tone {
            Tone::Info => self.fg(Color::Cyan),
            Tone::Good => self.fg(Color::Green),
            Tone::Bad => self.fg(Color::Red).add_modifier(Modifier::BOLD),
        }
    }

    fn matched(self) -> Style {
        if self.color {
            Style::new().fg(Color::Black).bg(Color::Yellow)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }
}

/// Draws the whole screen.
pub(super) fn draw(frame: &mut Frame<'_>, app: &mut App, theme: Theme) {
    let area = frame.area();
    let body = area.height.saturating_sub(1);
    let rows = u16::try_from(app.fleet.rows().len()).unwrap_or(u16::MAX);
    // Two fifths of the screen for the table, less when the fleet is small.
    let table_height = rows.saturating_add(3).min((body * 2 / 5).max(5)).min(body);
    let [table, logs, footer] = Layout::vertical([
        Constraint::Length(table_height),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_table(frame, app, theme, table);
    draw_logs(frame, app, theme, logs);
    draw_footer(frame, app, theme, footer);
    if app.mode == Mode::Help {
        draw_help(frame, theme, area);
    }
}

fn draw_table(frame: &mut Frame<'_>, app: &mut App, theme: Theme, area: Rect) {
    let fleet = &app.fleet;
    let name_width = fleet
        .rows()
        .iter()
        .map(|r| r.label().len())
        .max()
        .unwrap_or(4)
        .clamp(4, 24);
    let header = TableRow::new([
        "NAME", "STATE", "HEALTH", "CPU", "RSS", "PORTS", "RESTARTS", "REASON",
    ])
    .style(Style::new().add_modifier(Modifier::BOLD));
    let rows = fleet.rows().iter().map(|row| {
        let s = &row.status;
        TableRow::new([
            Cell::from(row.label()).style(theme.unit(&s.service)),
            Cell::from(s.state.as_str()).style(theme.state(s.state)),
            Cell::from(fleet.health(row)),
            Cell::from(s.cpu_percent.map_or_else(dash, |c| format!("{c:.1}%"))),
            Cell::from(s.rss_bytes.map_or_else(dash, bytes)),
            Cell::from(ports(&s.ports)),
            Cell::from(s.restarts.to_string()),
            Cell::from(fleet.reason(row).unwrap_or("-").to_owned()),
        ])
    });
    let widths = [
        Constraint::Length(u16::try_from(name_width).unwrap_or(24)),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(6),
        Constraint::Length(7),
        Constraint::Length(11),
        Constraint::Length(8),
        Constraint::Fill(1),
    ];
    let block = Block::bordered()
        .title(Line::from(format!(" orchestra · {} ", app.project)).style(Style::new().bold()))
        .title_top(summary(app, theme).right_aligned())
        .title_bottom(detail(app.selected(), app, theme));
    let table = Table::new(rows, widths)
        .header(header)
        .block(block)
        .column_spacing(1)
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    app.table.select(app.selected_index());
    frame.render_stateful_widget(table, area, &mut app.table);
}

/// `3 running · 1 crashed`, or that no daemon runs.
fn summary(app: &App, theme: Theme) -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    for (i, (state, count)) in app.fleet.summary().into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", theme.dim()));
        }
        spans.push(Span::styled(format!("{count} {state}"), theme.state(state)));
    }
    if !app.live {
        spans.push(Span::styled(" · no daemon", theme.dim()));
    }
    spans.push(Span::raw(" "));
    Line::from(spans)
}

/// The selection's details that the columns leave out: `worker.0 · pid 4242 · up 12s`.
fn detail(row: Option<&Row>, app: &App, theme: Theme) -> Line<'static> {
    let Some(row) = row else {
        return Line::default();
    };
    let s = &row.status;
    let mut parts = vec![row.label()];
    if let Some(pid) = s.pid {
        parts.push(format!("pid {pid}"));
    }
    if let Some(up) = s.uptime_s.filter(|_| s.state.is_alive()) {
        parts.push(format!("up {}", uptime(up)));
    }
    if let Some(reason) = app.fleet.reason(row) {
        parts.push(reason.to_owned());
    }
    Line::from(Span::styled(
        format!(" {} ", parts.join(" · ")),
        theme.dim(),
    ))
}

fn draw_logs(frame: &mut Frame<'_>, app: &mut App, theme: Theme, area: Rect) {
    let height = usize::from(area.height.saturating_sub(2));
    app.log_height = height.max(1);
    let view = &app.logs;
    let entries = view.window(height);
    let label_width = entries
        .iter()
        .map(|s| label(&s.entry).len())
        .max()
        .unwrap_or(0);
    let lines: Vec<Line<'_>> = entries
        .iter()
        .map(|stored| log_line(stored, label_width, view.timestamps, view.search(), theme))
        .collect();
    let focus = view.focus().map_or("all", |unit| unit);
    let mut title = format!(" logs · {focus} ");
    if let Some(search) = view.search() {
        let _ = write!(title, "· /{} ", search.pattern);
    }
    let position = if view.is_following() {
        " following "
    } else {
        " scrolled · G follows "
    };
    let block = Block::bordered()
        .title(Line::from(title).style(Style::new().bold()))
        .title_top(Line::from(Span::styled(position, theme.dim())).right_aligned());
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// One log line: time, `name.n` in the unit's colour, the text with search matches marked.
fn log_line<'a>(
    stored: &'a Stored,
    width: usize,
    timestamps: bool,
    search: Option<&Search>,
    theme: Theme,
) -> Line<'a> {
    let entry = &stored.entry;
    let mut spans = Vec::new();
    if timestamps {
        spans.push(Span::styled(format!("{} ", clock(entry.ts())), theme.dim()));
    }
    spans.push(Span::styled(
        format!("{:<width$}", label(entry)),
        theme.unit(entry.unit()),
    ));
    let text = plain(entry.text());
    let text_style = match entry {
        Entry::Output(_) => {
            spans.push(Span::styled(" │ ", theme.dim()));
            Style::new()
        }
        Entry::Event { bad, .. } => {
            spans.push(Span::styled(" ▸ ", theme.dim()));
            let style = Style::new().add_modifier(Modifier::BOLD);
            if *bad {
                style.patch(theme.fg(Color::Red))
            } else {
                style
            }
        }
    };
    let current = search.is_some_and(|s| s.current == Some(stored.seq));
    match search {
        Some(search) => {
            let mut at = 0;
            for m in search.regex.find_iter(&text) {
                spans.push(Span::styled(text[at..m.start()].to_owned(), text_style));
                spans.push(Span::styled(m.as_str().to_owned(), theme.matched()));
                at = m.end();
            }
            spans.push(Span::styled(text[at..].to_owned(), text_style));
        }
        None => spans.push(Span::styled(text.into_owned(), text_style)),
    }
    let line = Line::from(spans);
    if current {
        line.style(Style::new().add_modifier(Modifier::UNDERLINED))
    } else {
        line
    }
}

/// `users.0`, `users.build`, `postgres`.
fn label(entry: &Entry) -> Cow<'_, str> {
    match entry {
        Entry::Output(line) => Cow::Owned(line.label()),
        Entry::Event { label, .. } => Cow::Borrowed(label),
    }
}

fn draw_footer(frame: &mut Frame<'_>, app: &App, theme: Theme, area: Rect) {
    let line = match (&app.mode, &app.notice) {
        (Mode::Search(text), _) => Line::from(vec![
            Span::styled("/", Style::new().bold()),
            Span::raw(text.clone()),
            Span::styled("█", theme.dim()),
            Span::styled("   Enter searches · Esc cancels", theme.dim()),
        ]),
        (_, Some(notice)) => Line::from(Span::styled(notice.text.clone(), theme.tone(notice.tone))),
        _ => Line::from(Span::styled(HINTS.join("  "), theme.dim())),
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn draw_help(frame: &mut Frame<'_>, theme: Theme, area: Rect) {
    let height = u16::try_from(HELP.len() + 2).unwrap_or(u16::MAX);
    let popup = area.centered(Constraint::Max(64), Constraint::Max(height));
    let lines: Vec<Line<'_>> = HELP
        .iter()
        .map(|(keys, what)| {
            Line::from(vec![
                Span::styled(format!(" {keys:<10} "), theme.fg(Color::Cyan).bold()),
                Span::raw(*what),
            ])
        })
        .collect();
    let block = Block::bordered().title(" keys · any key closes ");
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}

/// The text without what would break the screen: terminal escape sequences (colours the
/// service printed) and control characters; tabs become spaces.
fn plain(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\t' => out.push_str("    "),
            // CSI: ESC [ parameters, then a final byte in @..~.
            '\u{1b}' if chars.peek() == Some(&'[') => {
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `10:04:01.284` in local time; blank when the time is unknown.
fn clock(ts: Option<SystemTime>) -> String {
    ts.map_or_else(
        || " ".repeat(12),
        |ts| {
            DateTime::<Local>::from(ts)
                .format("%H:%M:%S%.3f")
                .to_string()
        },
    )
}

fn dash() -> String {
    "-".to_owned()
}

fn ports(ports: &[u16]) -> String {
    if ports.is_empty() {
        return dash();
    }
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn bytes(b: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if b >= 1 << 30 {
        format!("{:.1}G", b as f64 / (1024.0 * MIB))
    } else {
        format!("{:.1}M", b as f64 / MIB)
    }
}

fn uptime(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h{}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d{}h", s / 86_400, (s % 86_400) / 3600),
    }
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
