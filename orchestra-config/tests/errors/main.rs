//! Every kind of bad configuration, with the message a user would read, as snapshots.

#[path = "../common/mod.rs"]
mod common;

/// A test that loads the files and snapshots the rendered error.
macro_rules! bad {
    ($name:ident, [$(($path:expr, $text:expr)),* $(,)?]) => {
        #[test]
        fn $name() {
            let f = $crate::common::Fixture::new(&[$(($path, $text)),*]);
            insta::assert_snapshot!(f.error());
        }
    };
}

mod files;
mod fleet;
mod reporting;
mod syntax;
mod tasks;
mod values;
mod variables;
