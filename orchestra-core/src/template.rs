//! `$VAR` / `${VAR}` interpolation and `{bin}`-style placeholders.
//!
//! Interpolation is done by Orchestra on env values, ports, probes and vendor fields, from what
//! is already merged; commands given as a string are left to `sh -c`, which expands their
//! variables itself. Placeholders (`{bin}`, `{name}`, `{replica}`, `{port}`) are filled in
//! commands only.

/// Why a string cannot be interpolated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `${` was never closed.
    #[error("`${{` at byte {0} is never closed with `}}`")]
    Unclosed(usize),
    /// `${}` names nothing, or names something that is not a variable name.
    #[error("`${{{0}}}` is not a variable name")]
    BadName(String),
    /// `$NAME` or `${NAME}` names a variable that is not set, and gives no fallback.
    #[error("variable `{0}` is not set")]
    Unset(String),
}

/// Replaces `$VAR` and `${VAR}` by `lookup(VAR)`; `${VAR:-fallback}` gives `fallback`
/// (taken as written) when `VAR` is unset or empty; `$$` is a literal `$`. A `$` followed
/// by anything else stays as it is. A variable `lookup` does not know, without a fallback,
/// is an error rather than an empty string: a silently empty password or URL is worse.
///
/// ```
/// use orchestra_core::template::{TemplateError, interpolate};
/// let env = |k: &str| match k {
///     "HOST" => Some("localhost".to_string()),
///     "PORT" => Some("8080".to_string()),
///     _ => None,
/// };
/// let v = interpolate("http://${HOST}:$PORT/$$x?${LEVEL:-info}", env).unwrap();
/// assert_eq!(v, "http://localhost:8080/$x?info");
/// assert_eq!(interpolate("$PASSWORD", env), Err(TemplateError::Unset("PASSWORD".into())));
/// ```
pub fn interpolate(
    input: &str,
    mut lookup: impl FnMut(&str) -> Option<String>,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(braced) = after.strip_prefix('{') {
            let offset = input.len() - rest.len() + pos;
            let end = braced.find('}').ok_or(TemplateError::Unclosed(offset))?;
            let (name, fallback) = match braced[..end].split_once(":-") {
                Some((name, fallback)) => (name, Some(fallback)),
                None => (&braced[..end], None),
            };
            if !is_var_name(name) {
                return Err(TemplateError::BadName(braced[..end].to_owned()));
            }
            let value = match (lookup(name), fallback) {
                (Some(v), Some(f)) if v.is_empty() => f.to_owned(),
                (Some(v), _) => v,
                (None, Some(f)) => f.to_owned(),
                (None, None) => return Err(TemplateError::Unset(name.to_owned())),
            };
            out.push_str(&value);
            rest = &braced[end + 1..];
        } else {
            let len = after
                .char_indices()
                .take_while(|&(i, c)| {
                    c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())
                })
                .count();
            if len == 0 {
                out.push('$');
                rest = after;
            } else {
                let name = &after[..len];
                let value = lookup(name).ok_or_else(|| TemplateError::Unset(name.to_owned()))?;
                out.push_str(&value);
                rest = &after[len..];
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The names `input` refers to with `$VAR` or `${VAR}`, in order (syntax errors ignored).
pub fn referenced_vars(input: &str) -> Vec<String> {
    let mut names = Vec::new();
    let _ = interpolate(input, |name| {
        names.push(name.to_owned());
        Some(String::new())
    });
    names
}

/// Whether `s` is a valid environment variable name.
pub fn is_var_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// The values of the placeholders that may appear in a command.
#[derive(Debug, Clone, Default)]
pub struct Placeholders<'a> {
    /// `{bin}`: the built binary.
    pub bin: Option<&'a str>,
    /// `{name}`: the service's name.
    pub name: &'a str,
    /// `{replica}`: the replica's index.
    pub replica: Option<u32>,
    /// `{port}`: the replica's port.
    pub port: Option<u16>,
}

impl Placeholders<'_> {
    /// Fills `{bin}`, `{name}`, `{replica}` and `{port}` in `s`. A placeholder whose value is
    /// unknown stays as written, and `${name}` (shell syntax) is never touched.
    pub fn fill(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(pos) = rest.find('{') {
            let shell_braces = out.ends_with('$') || (pos > 0 && rest[..pos].ends_with('$'));
            out.push_str(&rest[..pos]);
            let after = &rest[pos..];
            let value = if shell_braces {
                None
            } else {
                self.lookup(after)
            };
            if let Some((value, len)) = value {
                out.push_str(&value);
                rest = &after[len..];
            } else {
                out.push('{');
                rest = &after[1..];
            }
        }
        out.push_str(rest);
        out
    }

    fn lookup(&self, at: &str) -> Option<(String, usize)> {
        for (token, value) in [
            ("{bin}", self.bin.map(str::to_owned)),
            ("{name}", Some(self.name.to_owned())),
            ("{replica}", self.replica.map(|r| r.to_string())),
            ("{port}", self.port.map(|p| p.to_string())),
        ] {
            if at.starts_with(token) {
                return value.map(|v| (v, token.len()));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(k: &str) -> Option<String> {
        match k {
            "A" => Some("1".into()),
            "LONG_NAME" => Some("x y".into()),
            _ => None,
        }
    }

    #[test]
    fn interpolates_both_forms() {
        assert_eq!(interpolate("$A-${LONG_NAME}", env).unwrap(), "1-x y");
        assert_eq!(
            interpolate("$MISSING.", env),
            Err(TemplateError::Unset("MISSING".into()))
        );
        assert_eq!(
            interpolate("${MISSING}", env),
            Err(TemplateError::Unset("MISSING".into()))
        );
        assert_eq!(interpolate("cost: $$5 $ 1$", env).unwrap(), "cost: $5 $ 1$");
        assert_eq!(interpolate("$1", env).unwrap(), "$1");
    }

    #[test]
    fn fallbacks_stand_for_unset_or_empty_variables() {
        let with_empty = |k: &str| (k == "EMPTY").then(String::new).or_else(|| env(k));
        assert_eq!(interpolate("${A:-x}", with_empty).unwrap(), "1");
        assert_eq!(interpolate("${NOPE:-x y}", with_empty).unwrap(), "x y");
        assert_eq!(interpolate("${EMPTY:-x}", with_empty).unwrap(), "x");
        assert_eq!(interpolate("${NOPE:-}", with_empty).unwrap(), "");
        // The fallback is taken as written: it is not interpolated again.
        assert_eq!(interpolate("${NOPE:-$A}", with_empty).unwrap(), "$A");
    }

    #[test]
    fn reports_bad_syntax() {
        assert_eq!(interpolate("a ${A", env), Err(TemplateError::Unclosed(2)));
        assert_eq!(
            interpolate("${}", env),
            Err(TemplateError::BadName(String::new()))
        );
        assert_eq!(
            interpolate("${A-b}", env),
            Err(TemplateError::BadName("A-b".into()))
        );
    }

    #[test]
    fn lists_references() {
        assert_eq!(referenced_vars("$A ${B} $$C ${D:-d}"), ["A", "B", "D"]);
    }

    #[test]
    fn fills_placeholders_but_not_shell_braces() {
        let p = Placeholders {
            bin: Some("/x/bin/users"),
            name: "users",
            replica: Some(2),
            port: Some(8082),
        };
        assert_eq!(
            p.fill("{bin} --name {name}.{replica} -p {port} ${name} {other}"),
            "/x/bin/users --name users.2 -p 8082 ${name} {other}"
        );
        let partial = Placeholders {
            name: "users",
            ..Placeholders::default()
        };
        assert_eq!(partial.fill("{bin} {port}"), "{bin} {port}");
    }
}
