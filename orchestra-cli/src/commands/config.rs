//! `orchestra config`: the resolved configuration, as Orchestra will run it.

use std::io::Write;

use orchestra_config::Section;

use crate::args::ConfigArgs;
use crate::context::Context;
use crate::error::CliError;

/// Prints the resolved project as YAML in the files' own syntax (see
/// [`super::config_yaml`]), or JSON with `--json`.
pub fn run(cx: &mut Context, args: &ConfigArgs) -> Result<(), CliError> {
    let project = cx.resolve(Section::Config)?;
    let text = if args.json {
        let mut s = serde_json::to_string_pretty(&project)
            .map_err(CliError::encode("the configuration as JSON"))?;
        s.push('\n');
        s
    } else {
        let groups = cx.project()?.groups();
        super::config_yaml::render(&project, &groups)
            .map_err(CliError::encode("the configuration as YAML"))?
    };
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(CliError::io("writing to stdout"))
}
