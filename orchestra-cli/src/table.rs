//! The one table renderer: `ps`, `vendors ps`, `ps --strays` and `ps --ports` all print
//! through it, so their columns line up and colour the same way.

use std::fmt::Write as _;

use crate::output::Output;

/// A cell's colour on a terminal (none elsewhere, see [`Output`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Paint {
    /// As is.
    #[default]
    Plain,
    /// Healthy, running.
    Green,
    /// Crashed, failed.
    Red,
    /// Waiting, backing off, starting.
    Yellow,
    /// Stopped, not applicable.
    Dim,
}

/// One cell: its text and its colour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cell {
    /// What is shown.
    pub text: String,
    /// How it is coloured on a terminal.
    pub paint: Paint,
}

impl Cell {
    /// A cell in `paint`.
    pub(crate) fn painted(text: impl Into<String>, paint: Paint) -> Self {
        Self {
            text: text.into(),
            paint,
        }
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Self::painted(text, Paint::Plain)
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Self::painted(text, Paint::Plain)
    }
}

/// A bold header, then the rows; every column but the last is padded to its widest cell,
/// two spaces apart, and trailing blanks are trimmed. Colour is applied after padding, as
/// escape codes take no room on screen.
pub(crate) fn render(header: &[&str], rows: &[Vec<Cell>], out: Output) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.text.chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &mut dyn Iterator<Item = (&str, Paint)>| {
        let mut line = String::new();
        let cells: Vec<(&str, Paint)> = cells.collect();
        for (i, (text, paint)) in cells.iter().enumerate() {
            let mut cell = String::new();
            if i + 1 == cells.len() {
                cell.push_str(text);
            } else {
                let _ = write!(cell, "{text:<width$}  ", width = widths[i]);
            }
            // Only the text is coloured, not the padding after it.
            let shown = cell.trim_end_matches(' ');
            let pad = &cell[shown.len()..];
            line.push_str(&paint_with(out, *paint, shown));
            line.push_str(pad);
        }
        line.trim_end().to_owned() + "\n"
    };
    let mut text = out.bold(line(&mut header.iter().map(|h| (*h, Paint::Plain))).trim_end());
    text.push('\n');
    for row in rows {
        text.push_str(&line(&mut row.iter().map(|c| (c.text.as_str(), c.paint))));
    }
    text
}

fn paint_with(out: Output, paint: Paint, text: &str) -> String {
    match paint {
        Paint::Plain => text.to_owned(),
        Paint::Green => out.green(text),
        Paint::Red => out.red(text),
        Paint::Yellow => out.yellow(text),
        Paint::Dim => out.dim(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(color: bool) -> Output {
        Output {
            color,
            color_err: false,
            quiet: false,
            verbose: 0,
        }
    }

    #[test]
    fn columns_line_up_and_the_last_is_not_padded() {
        let rows = vec![
            vec![Cell::from("api.0"), Cell::from("running"), Cell::from("-")],
            vec![
                Cell::from("users.10"),
                Cell::from("crashed"),
                Cell::from("exit 1 after 0.4s"),
            ],
        ];
        assert_eq!(
            render(&["SERVICE", "STATE", "REASON"], &rows, out(false)),
            "SERVICE   STATE    REASON\n\
             api.0     running  -\n\
             users.10  crashed  exit 1 after 0.4s\n"
        );
    }

    #[test]
    fn colour_wraps_the_text_not_the_padding() {
        let rows = vec![vec![
            Cell::painted("up", Paint::Green),
            Cell::painted("x", Paint::Red),
        ]];
        let text = render(&["STATE", "WHY"], &rows, out(true));
        assert_eq!(
            text,
            "\x1b[1mSTATE  WHY\x1b[0m\n\x1b[32mup\x1b[0m     \x1b[31mx\x1b[0m\n"
        );
    }
}
