//! Tests of orchestra-logs on real files, with real concurrent writers.

#![expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

mod behind;
mod follow;
mod format;
mod history;
mod rotation;
mod stream;
mod support;
