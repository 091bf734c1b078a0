//! "Did you mean …?" by edit distance.

/// The candidate closest to `input`, if one is close enough to be a likely typo.
pub(crate) fn closest<'a, I>(input: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let limit = (input.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(input, c), c))
        .filter(|&(d, c)| d <= limit && d < c.chars().count().max(1))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// `did you mean `x`?` when there is a close candidate.
pub(crate) fn did_you_mean<'a, I>(input: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    closest(input, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_misses_only() {
        let keys = ["depends_on", "port", "env", "env_file"];
        assert_eq!(closest("depend_on", keys), Some("depends_on"));
        assert_eq!(closest("prot", keys), Some("port"));
        assert_eq!(closest("envfile", keys), Some("env_file"));
        assert_eq!(closest("banana", keys), None);
    }
}
