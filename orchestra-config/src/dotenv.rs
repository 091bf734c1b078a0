//! Dotenv files (`NAME=value` per line), read without any interpolation: `$VAR`s are filled
//! once, at resolution, like every other env value, and not a second time here.
//!
//! The format is the common one: `#` comments, an optional `export ` before the name,
//! values unquoted (trimmed, ending at ` #`), in single quotes (taken as written, `$`
//! included, and never interpolated) or in double quotes (`\n`, `\t`, `\"`, `\\` and `\$`
//! escapes; may span lines).

use orchestra_core::template::is_var_name;

/// One variable of a dotenv file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub key: String,
    /// The value, with `$$` standing for a literal `$` unless `literal`.
    pub value: String,
    /// Single-quoted: taken as written, never interpolated.
    pub literal: bool,
    /// Byte range of the value as written in the file (quotes included).
    pub span: (usize, usize),
}

/// A line that is not `NAME=value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    /// Byte offset of the offending character.
    pub at: usize,
    pub message: &'static str,
}

/// Parses a whole dotenv file.
pub(crate) fn parse(text: &str) -> Result<Vec<Entry>, ParseError> {
    let mut entries = Vec::new();
    let mut pos = 0;
    while pos < text.len() {
        let line_end = text[pos..].find('\n').map_or(text.len(), |n| pos + n);
        let line = &text[pos..line_end];
        let content = line.trim_start();
        if content.is_empty() || content.starts_with('#') {
            pos = line_end + 1;
            continue;
        }
        let start = pos + (line.len() - content.len());
        let (entry, end) = assignment(text, start)?;
        entries.push(entry);
        pos = end;
    }
    Ok(entries)
}

/// Reads `[export ]NAME=value` from `start`; returns it and the offset after its line.
fn assignment(text: &str, start: usize) -> Result<(Entry, usize), ParseError> {
    let mut at = start;
    if let Some(rest) = text[at..].strip_prefix("export ") {
        at = text.len() - rest.trim_start_matches(' ').len();
    }
    let name_len = text[at..]
        .find(|c: char| !(c == '_' || c.is_ascii_alphanumeric()))
        .unwrap_or(text.len() - at);
    let key = &text[at..at + name_len];
    if !is_var_name(key) {
        return Err(ParseError {
            at,
            message: "expected a variable name",
        });
    }
    at = skip_blanks(text, at + name_len);
    if !text[at..].starts_with('=') {
        return Err(ParseError {
            at,
            message: "expected `=`",
        });
    }
    at = skip_blanks(text, at + 1);
    let (value, literal, value_end) = match text[at..].chars().next() {
        Some('\'') => single_quoted(text, at)?,
        Some('"') => double_quoted(text, at)?,
        _ => unquoted(text, at)?,
    };
    if value.contains('\0') {
        return Err(ParseError {
            at,
            message: "a NUL byte cannot be passed in an environment variable",
        });
    }
    let line_end = rest_of_line(text, value_end)?;
    let entry = Entry {
        key: key.to_owned(),
        value,
        literal,
        span: (at, value_end),
    };
    Ok((entry, line_end))
}

/// The offset of the first character from `at` that is not a space or a tab.
fn skip_blanks(text: &str, at: usize) -> usize {
    text.len() - text[at..].trim_start_matches([' ', '\t']).len()
}

/// After a value: only blanks and a comment may follow on its line.
fn rest_of_line(text: &str, from: usize) -> Result<usize, ParseError> {
    let line_end = text[from..].find('\n').map_or(text.len(), |n| from + n);
    let rest = text[from..line_end].trim_start();
    if rest.is_empty() || rest.starts_with('#') {
        Ok(line_end + 1)
    } else {
        Err(ParseError {
            at: line_end - rest.len(),
            message: "unexpected text after the value",
        })
    }
}

/// `'…'`: everything up to the next `'`, as written.
fn single_quoted(text: &str, at: usize) -> Result<(String, bool, usize), ParseError> {
    let body = at + 1;
    let close = text[body..].find('\'').ok_or(ParseError {
        at,
        message: "this quote is never closed",
    })?;
    Ok((text[body..body + close].to_owned(), true, body + close + 1))
}

/// `"…"` with backslash escapes; a `$` stays a reference, `\$` becomes `$$` (a literal `$`).
fn double_quoted(text: &str, at: usize) -> Result<(String, bool, usize), ParseError> {
    let mut out = String::new();
    let mut chars = text[at + 1..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, false, at + 1 + i + 1)),
            '\\' => match chars.next().map(|(_, e)| e) {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('$') => out.push_str("$$"),
                Some(other @ ('"' | '\\')) => out.push(other),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => break,
            },
            _ => out.push(c),
        }
    }
    Err(ParseError {
        at,
        message: "this quote is never closed",
    })
}

/// A bare value: up to the end of the line or a ` #` comment, trimmed.
fn unquoted(text: &str, at: usize) -> Result<(String, bool, usize), ParseError> {
    let line_end = text[at..].find('\n').map_or(text.len(), |n| at + n);
    let line = &text[at..line_end];
    let mut end = line.len();
    for (i, _) in line.match_indices('#') {
        if i == 0 || line[..i].ends_with([' ', '\t']) {
            end = i;
            break;
        }
    }
    let value = line[..end].trim_end();
    if let Some(q) = value.find(['\'', '"']) {
        return Err(ParseError {
            at: at + q,
            message: "quote the whole value, not a part of it",
        });
    }
    Ok((value.to_owned(), false, at + value.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<(String, String, bool)> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|e| (e.key, e.value, e.literal))
            .collect()
    }

    fn v(k: &str, v: &str, literal: bool) -> (String, String, bool) {
        (k.into(), v.into(), literal)
    }

    #[test]
    fn reads_every_form_without_interpolating() {
        let text = "# comment\n\nA=1\nexport B = x\nC=  spaced out  # note\n\
                    D='pa$word $(x) \\n'\nE=\"pa$(ss \\$HOME \\\"q\\\"\\nline\"\nF=\n\
                    G=a#b\nH=\"two\nlines\"\n";
        assert_eq!(
            values(text),
            [
                v("A", "1", false),
                v("B", "x", false),
                v("C", "spaced out", false),
                v("D", "pa$word $(x) \\n", true),
                v("E", "pa$(ss $$HOME \"q\"\nline", false),
                v("F", "", false),
                v("G", "a#b", false),
                v("H", "two\nlines", false),
            ]
        );
    }

    #[test]
    fn spans_cover_the_value_as_written() {
        let text = "A='x'\nB=yz # c\n";
        let entries = parse(text).unwrap();
        let shown: Vec<&str> = entries.iter().map(|e| &text[e.span.0..e.span.1]).collect();
        assert_eq!(shown, ["'x'", "yz"]);
    }

    #[test]
    fn refuses_what_is_not_an_assignment() {
        let at = |text: &str| parse(text).unwrap_err().at;
        assert_eq!(at("GOOD=1\nBAD LINE\n"), 11);
        assert_eq!(at("1X=2\n"), 0);
        assert_eq!(at("A='open\n"), 2);
        assert_eq!(at("A=\"x\" y\n"), 6);
        assert_eq!(at("A=it's\n"), 4);
        assert_eq!(at("A=\"\0\"\n"), 2);
    }
}
