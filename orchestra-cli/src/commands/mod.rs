//! One module per command.

pub mod acceptance;
pub mod affected;
pub mod attach;
pub mod completions;
pub mod config;
pub mod config_yaml;
pub mod exec;
pub mod export;
pub mod fleet;
pub mod import;
pub mod init;
pub mod junit;
pub mod logs;
mod progress;
pub mod ps;
pub mod restart;
pub mod scale;
pub mod schema;
pub mod start;
pub mod stop;
pub mod test;
pub mod ui;
pub mod vendors;
pub mod why;
