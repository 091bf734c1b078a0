//! `orchestra schema`: the JSON Schemas of orchestra.yml and service.yml, for editors.
//!
//! Editors that use yaml-language-server (VS Code's YAML extension, Neovim's yamlls) read
//! a `# yaml-language-server: $schema=PATH` line at the top of a file. `init` writes both
//! schemas into the project's `.orchestra/` folder and that line, with a path relative to
//! the file, into what it writes. The schemas live in `.orchestra/` (ignored by git) so
//! that they always match the `orchestra` that wrote them: `orchestra schema --write`
//! writes them again after an upgrade, or in a fresh clone.

use std::io::Write;
use std::path::{Path, PathBuf};

use orchestra_core::StateDir;

use crate::args::SchemaArgs;
use crate::context::Context;
use crate::error::CliError;

/// File name of orchestra.yml's schema inside `.orchestra/`.
pub const PROJECT_SCHEMA: &str = "orchestra.schema.json";
/// File name of service.yml's schema inside `.orchestra/`.
pub const SERVICE_SCHEMA: &str = "service.schema.json";

/// Prints a schema, or writes both into the project's `.orchestra/` with `--write`.
pub fn run(cx: &mut Context, args: &SchemaArgs) -> Result<(), CliError> {
    if args.write {
        let root = cx.project_root()?;
        for path in write(&root)? {
            if !cx.out.quiet {
                println!("wrote {}", path.display());
            }
        }
        return Ok(());
    }
    let schema = if args.service {
        orchestra_config::service_schema()
    } else {
        orchestra_config::project_schema()
    };
    std::io::stdout()
        .lock()
        .write_all(pretty(&schema).as_bytes())
        .map_err(CliError::io("writing to stdout"))
}

/// Writes both schemas into `root/.orchestra/`, returning their paths.
pub fn write(root: &Path) -> Result<[PathBuf; 2], CliError> {
    let state = StateDir::for_project(root);
    orchestra_core::paths::create_private_dir(state.root())
        .map_err(CliError::io(format!("creating {}", state.root().display())))?;
    let project = state.root().join(PROJECT_SCHEMA);
    let service = state.root().join(SERVICE_SCHEMA);
    for (path, schema) in [
        (&project, orchestra_config::project_schema()),
        (&service, orchestra_config::service_schema()),
    ] {
        orchestra_core::paths::atomic_write(path, pretty(&schema).as_bytes())
            .map_err(CliError::io(format!("writing {}", path.display())))?;
    }
    Ok([project, service])
}

/// The line that points yaml-language-server at `schema` (a file name in `.orchestra/`)
/// from a file in `folder`, a folder under the project `root`.
pub fn modeline(root: &Path, folder: &Path, schema: &str) -> String {
    let depth = folder
        .strip_prefix(root)
        .map_or(0, |rel| rel.components().count());
    let up = "../".repeat(depth);
    format!("# yaml-language-server: $schema={up}.orchestra/{schema}\n")
}

fn pretty(schema: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(schema).unwrap_or_else(|_| schema.to_string());
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::modeline;

    #[test]
    fn the_modeline_path_is_relative_to_the_file() {
        let root = Path::new("/p");
        assert_eq!(
            modeline(root, root, "orchestra.schema.json"),
            "# yaml-language-server: $schema=.orchestra/orchestra.schema.json\n"
        );
        assert_eq!(
            modeline(root, &root.join("svc/users"), "service.schema.json"),
            "# yaml-language-server: $schema=../../.orchestra/service.schema.json\n"
        );
    }
}
