//! A Procfile (`name: command` per line, as foreman and honcho read it) into one service
//! per line. Each command is kept as written, `$PORT` included; a service whose command
//! uses `$PORT` gets a `port:` (from the base up, 100 apart, foreman's numbering), so
//! Orchestra sets `PORT` for it and waits until it listens there.

use std::path::PathBuf;

use yaml_serde::{Mapping, Value};

use super::{Conversion, ServiceFile, sanitize_name, set};

/// Converts Procfile `text`; `port_base` is the first port handed out.
pub fn convert(text: &str, port_base: u16) -> Conversion {
    let mut conversion = Conversion::default();
    let mut index: u32 = 0;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, command)) = line.split_once(':') else {
            conversion
                .notes
                .push(format!("line {}: `{line}` is not `name: command`", n + 1));
            continue;
        };
        let (name, command) = (name.trim(), command.trim());
        if command.is_empty() {
            conversion
                .notes
                .push(format!("line {}: `{name}` has no command", n + 1));
            continue;
        }
        let folder = sanitize_name(name);
        if folder != name {
            conversion.notes.push(format!(
                "`{name}` is named `{folder}` (names are letters, digits, `-` and `_`)"
            ));
        }
        let mut settings = Mapping::new();
        set(&mut settings, "run", Value::String(command.to_owned()));
        if uses_port(command) {
            let port = u32::from(port_base) + 100 * index;
            match u16::try_from(port) {
                Ok(port) => set(&mut settings, "port", u64::from(port)),
                Err(_) => conversion.notes.push(format!(
                    "`{folder}` uses $PORT but no port is left above {port_base}: set `port:`"
                )),
            }
        }
        index += 1;
        conversion.services.push(ServiceFile {
            folder: PathBuf::from(folder),
            settings,
        });
    }
    if !conversion.services.is_empty() {
        let folders: Vec<String> = conversion
            .services
            .iter()
            .map(|s| format!("{}/", s.folder.display()))
            .collect();
        conversion.notes.push(format!(
            "each service runs in its own folder ({}), not in the project folder as under foreman: adjust relative paths in the commands",
            folders.join(", ")
        ));
    }
    conversion
}

/// Whether `command` reads `$PORT` or `${PORT…}`.
fn uses_port(command: &str) -> bool {
    command.match_indices("$PORT").any(|(at, m)| {
        !command[at + m.len()..].starts_with(|c: char| c == '_' || c.is_ascii_alphanumeric())
    }) || command.contains("${PORT")
}

#[cfg(test)]
mod tests {
    use super::convert;

    #[test]
    fn one_service_per_line_with_ports_for_those_that_use_port() {
        let c = convert(
            "# the app\nweb: bundle exec puma -p $PORT\nworker: ./work --queue=${QUEUE}\n\napi.v2: ./api --listen :${PORT}\nbad line\n",
            5000,
        );
        let yml: Vec<String> = c
            .services
            .iter()
            .map(|s| {
                format!(
                    "{}: {}",
                    s.folder.display(),
                    yaml_serde::to_string(&s.settings)
                        .unwrap_or_default()
                        .trim()
                        .replace('\n', "; ")
                )
            })
            .collect();
        assert_eq!(
            yml,
            [
                "web: run: bundle exec puma -p $PORT; port: 5000",
                "worker: run: ./work --queue=${QUEUE}",
                "api-v2: run: ./api --listen :${PORT}; port: 5200",
            ]
        );
        assert!(
            c.notes.iter().any(|n| n.contains("line 6")),
            "{:?}",
            c.notes
        );
        assert!(
            c.notes
                .iter()
                .any(|n| n.contains("`api.v2` is named `api-v2`"))
        );
    }

    #[test]
    fn port_prefixed_names_are_not_port() {
        assert!(!super::uses_port("echo $PORTAL"));
        assert!(super::uses_port("serve --port=$PORT"));
    }
}
