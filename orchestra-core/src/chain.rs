//! An error and its causes on one line, each said once.

use std::error::Error;

/// `error: cause: its cause`, the way the CLI reports a failure and a replica records why
/// it stopped. A cause whose text the line already holds (an error that quotes its source)
/// is left out, so nothing is said twice.
///
/// ```
/// use orchestra_core::chain::error_chain;
///
/// let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
/// let e = std::io::Error::other(io);
/// // `other` wraps and repeats its source's text: shown once.
/// assert_eq!(error_chain(&e), "no such file");
/// ```
pub fn error_chain(e: &dyn Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !said.is_empty() && !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot build `api`")]
    struct Build(#[source] std::io::Error);

    #[test]
    fn causes_follow_once() {
        let e = Build(std::io::Error::other("exit 2"));
        assert_eq!(error_chain(&e), "cannot build `api`: exit 2");
    }
}
