//! Tests of vendor containers on a real Docker engine, with images built locally by
//! scripts/build-test-images. Each test uses its own project, so they run in parallel, and
//! cleans it up on the way out.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod engine;
mod images;
mod lifecycle;
mod logs;
mod readiness;
mod support;
