//! The words of a `run` command, and patterns that match them against a command line.
//!
//! `run` still holds per-replica parts (`{port}`, `{replica}`) and shell variables
//! (`$PORT`) that a hand-started copy has filled differently, so those parts match anything.

/// A word pattern: literal pieces with "anything" between them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Glob {
    /// Literal pieces; a wildcard sits between two consecutive pieces.
    pieces: Vec<String>,
}

impl Glob {
    /// The pattern of `word`: `{port}`, `{replica}`, `$NAME`, `${NAME}` and `$$` are wildcards.
    pub fn new(word: &str) -> Self {
        let mut pieces = vec![String::new()];
        let mut rest = word;
        while let Some(c) = rest.chars().next() {
            let skip = wildcard_len(rest);
            if skip > 0 {
                pieces.push(String::new());
                rest = &rest[skip..];
            } else {
                if let Some(last) = pieces.last_mut() {
                    last.push(c);
                }
                rest = &rest[c.len_utf8()..];
            }
        }
        Self { pieces }
    }

    /// Whether `text` matches the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        let (first, others) = match self.pieces.split_first() {
            Some((first, others)) if !others.is_empty() => (first, others),
            _ => return self.pieces.first().is_some_and(|p| p == text),
        };
        let Some(mut rest) = text.strip_prefix(first.as_str()) else {
            return false;
        };
        let (last, middle) = others.split_last().unwrap_or((first, &[]));
        for piece in middle {
            match rest.find(piece.as_str()) {
                Some(at) => rest = &rest[at + piece.len()..],
                None => return false,
            }
        }
        rest.ends_with(last.as_str())
    }
}

/// The length of the wildcard starting `s`, or 0.
fn wildcard_len(s: &str) -> usize {
    for placeholder in ["{port}", "{replica}"] {
        if s.starts_with(placeholder) {
            return placeholder.len();
        }
    }
    let Some(after) = s.strip_prefix('$') else {
        return 0;
    };
    if after.starts_with('$') {
        return 2;
    }
    if let Some(braced) = after.strip_prefix('{') {
        return braced.find('}').map_or(0, |end| end + 3);
    }
    let name = after
        .char_indices()
        .take_while(|&(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()))
        .count();
    if name == 0 { 0 } else { name + 1 }
}

/// The words of the first simple command of a shell string, quotes removed, without
/// leading variable assignments and `exec`: what the process it starts has as argv.
pub(crate) fn first_command(script: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = script.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                word.extend(chars.by_ref().take_while(|&c| c != '\''));
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some(n @ ('"' | '\\' | '$' | '`')) => word.push(n),
                            Some(n) => {
                                word.push('\\');
                                word.push(n);
                            }
                            None => {}
                        },
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next().filter(|&n| n != '\n') {
                    word.push(n);
                }
            }
            ';' | '&' | '|' | '<' | '>' | '(' | ')' | '\n' => break,
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    let skip = words
        .iter()
        .take_while(|w| w.as_str() == "exec" || is_assignment(w))
        .count();
    words.split_off(skip)
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_filled_placeholders_and_variables() {
        assert!(Glob::new("./start.sh").matches("./start.sh"));
        assert!(!Glob::new("./start.sh").matches("./start.shx"));
        assert!(Glob::new("--port={port}").matches("--port=8080"));
        assert!(!Glob::new("--port={port}").matches("--host=8080"));
        assert!(Glob::new("{port}").matches(""));
        assert!(Glob::new("$PORT").matches("8080"));
        assert!(Glob::new("a${X}b$Yc").matches("a1b"));
        assert!(Glob::new("a${X}b$Y-c").matches("a1b2-c"));
        assert!(!Glob::new("a${X}b").matches("a1c"));
        assert!(Glob::new("price: 5$").matches("price: 5$"));
        assert!(
            Glob::new("./serve --port {port} && echo bye").matches("./serve --port 9 && echo bye")
        );
    }

    #[test]
    fn first_command_splits_like_sh() {
        assert_eq!(
            first_command("./start.sh {port} && echo bye"),
            ["./start.sh", "{port}"]
        );
        assert_eq!(
            first_command(r#"FOO=1 exec python3 -m 'http.server' "$PORT"; x"#),
            ["python3", "-m", "http.server", "$PORT"]
        );
        assert_eq!(
            first_command(r#"echo "a \"b\" c" d\ e|wc"#),
            ["echo", r#"a "b" c"#, "d e"]
        );
        assert!(first_command("  ").is_empty());
    }
}
