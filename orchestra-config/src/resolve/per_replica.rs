//! Variables known only per replica (`$PORT`), kept in probes through resolution.

use orchestra_core::template::{TemplateError, interpolate};

/// Variables only known per replica: left in probes for `ServiceSpec::replica` to fill
/// (`PORT` first: a service without a port has none).
pub(super) const PER_REPLICA: [&str; 3] = ["PORT", "ORCHESTRA_REPLICA", "ORCHESTRA_SERVICE"];

/// Interpolates `s` but leaves the `per_replica` variables as `${NAME}` and escapes every
/// other `$` as `$$`, so that `ServiceSpec::replica` can interpolate the result once more
/// and fill only those.
pub(crate) fn keep_per_replica(
    s: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    per_replica: &[&str],
) -> Result<String, TemplateError> {
    // Refused in any value at load time, so free to stand for `$$` here.
    const LITERAL: char = '\u{0}';
    let guarded = escape_fallbacks(&s.replace("$$", &LITERAL.to_string()));
    let out = interpolate(&guarded, |k| {
        if per_replica.contains(&k) {
            Some(format!("${{{k}}}"))
        } else {
            lookup(k).map(|v| v.replace('$', "$$"))
        }
    })?;
    Ok(out.replace(LITERAL, "$$"))
}

/// `s` with every `$` inside a `${NAME:-fallback}` fallback doubled: a fallback comes out of
/// interpolation as written, and must come out of the second one as written too.
fn escape_fallbacks(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let braced = &rest[start..];
        let Some(end) = braced.find('}') else {
            out.push_str(braced);
            return out;
        };
        match braced[..end].split_once(":-") {
            Some((name, fallback)) => {
                out.push_str(name);
                out.push_str(":-");
                out.push_str(&fallback.replace('$', "$$"));
                out.push('}');
            }
            None => out.push_str(&braced[..=end]),
        }
        rest = &braced[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::{PER_REPLICA, keep_per_replica};
    use orchestra_core::template::TemplateError;

    #[test]
    fn per_replica_variables_survive_for_later() {
        let lookup = |k: &str| match k {
            "HOST" => Some("db".to_owned()),
            "ODD" => Some("a$b".to_owned()),
            _ => None,
        };
        assert_eq!(
            keep_per_replica("http://$HOST:$PORT/x?$$y&$ODD", &lookup, &PER_REPLICA).unwrap(),
            "http://db:${PORT}/x?$$y&a$$b"
        );
        assert_eq!(
            keep_per_replica("${NOPE:-a$b$$c}:${PORT:-1}", &lookup, &PER_REPLICA).unwrap(),
            "a$$b$$c:${PORT}"
        );
        assert_eq!(
            keep_per_replica("$PORT", &lookup, &PER_REPLICA[1..]),
            Err(TemplateError::Unset("PORT".into()))
        );
    }
}
