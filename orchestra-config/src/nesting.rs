//! A bound on how deeply flow collections (`[…]`, `{…}`) nest, checked on the text before
//! YAML parsing.
//!
//! The YAML scanner keeps one entry per open flow level and walks all of them for every
//! token, so `env: [[[[…` costs time quadratic in the depth: a 1 MiB file of brackets would
//! hold a core for minutes. One linear pass over the text finds the first bracket past the
//! limit first. Block nesting (indentation, `- - -`) costs the scanner nothing extra and is
//! left to the parser's own recursion limit.

/// The deepest flow nesting accepted; no configuration comes near it.
pub(crate) const MAX_FLOW_DEPTH: usize = 64;

/// The byte offset of the first `[` or `{` that opens a level past [`MAX_FLOW_DEPTH`].
///
/// Quoted scalars and comments are skipped. A `[` counts only where a value may start (after
/// indentation, `: `, `- `, `? `, `,` or another bracket), as the YAML grammar has it, so a
/// plain scalar like `echo a[1]` is not mistaken for nesting.
pub(crate) fn too_deep(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut token_start = true;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let prev_blank = i == 0 || matches!(bytes[i - 1], b' ' | b'\t' | b'\n' | b'\r');
        match c {
            b'\n' => token_start = true,
            b' ' | b'\t' | b'\r' => {}
            b'#' if prev_blank => i = line_end(bytes, i),
            b'\'' | b'"' if token_start => {
                i = quote_end(bytes, i);
                token_start = false;
            }
            b'[' | b'{' if token_start => {
                depth += 1;
                if depth > MAX_FLOW_DEPTH {
                    return Some(i);
                }
            }
            b']' | b'}' if depth > 0 => {
                depth -= 1;
                token_start = false;
            }
            b',' if depth > 0 => token_start = true,
            b':' | b'-' | b'?' => {
                let next_blank = bytes
                    .get(i + 1)
                    .is_none_or(|n| matches!(n, b' ' | b'\t' | b'\n' | b'\r'));
                token_start = next_blank && (c == b':' || token_start);
            }
            _ => token_start = false,
        }
        i += 1;
    }
    None
}

/// The offset of the newline ending the line at `i` (or the end of the text).
fn line_end(bytes: &[u8], i: usize) -> usize {
    bytes[i..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |n| i + n)
        .saturating_sub(1)
}

/// The offset of the quote closing the scalar opened at `i`: `''` is an escaped quote in
/// single quotes, `\` escapes in double quotes.
fn quote_end(bytes: &[u8], i: usize) -> usize {
    let quote = bytes[i];
    let mut j = i + 1;
    while j < bytes.len() {
        match bytes[j] {
            b'\\' if quote == b'"' => j += 1,
            b'\'' if quote == b'\'' && bytes.get(j + 1) == Some(&b'\'') => j += 1,
            b if b == quote => return j,
            _ => {}
        }
        j += 1;
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_flow_brackets_only_where_values_start() {
        let deep = |n: usize| format!("env: {}", "[".repeat(n));
        assert_eq!(too_deep(&deep(MAX_FLOW_DEPTH)), None);
        assert_eq!(
            too_deep(&deep(MAX_FLOW_DEPTH + 1)),
            Some(5 + MAX_FLOW_DEPTH)
        );
        let plain = format!("run: echo a{}\n", "[".repeat(100));
        assert_eq!(too_deep(&plain), None);
        let quoted = format!("run: \"{}\"\n# {}\n", "[".repeat(100), "{".repeat(100));
        assert_eq!(too_deep(&quoted), None);
    }

    #[test]
    fn closed_levels_are_not_counted() {
        let siblings = format!("x: [{}]\n", "[1], ".repeat(200));
        assert_eq!(too_deep(&siblings), None);
        let nested_in_maps = format!("x: {}\n", "{a: [".repeat(40));
        assert_eq!(too_deep(&nested_in_maps), Some(3 + 32 * 5));
    }
}
