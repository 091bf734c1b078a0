//! orchestra.yml as written.

use std::collections::BTreeMap;

use orchestra_core::name::ProjectName;
use orchestra_core::spec::{CommandSpec, LogSettings};

use super::env_file::{self, EnvFileRef};
use super::groups::{self, RawGroup};
use super::service::{self, RawService};
use super::vendor::{self, RawVendor};
use crate::node::Node;
use crate::read::{self, Ctx, EnvEntry, Located};
use crate::source::{Seg, Target, child};

/// The commands that have their own section in orchestra.yml.
pub(crate) const SECTIONS: &[&str] = &[
    "start", "stop", "restart", "ps", "logs", "test", "export", "vendors",
];

pub(crate) const KEYS: &[&str] = &[
    "name",
    "env",
    "env_file",
    "before",
    "after",
    "services",
    "groups",
    "defaults",
    "vendors",
    "logs",
    "acceptance",
    "start",
    "stop",
    "restart",
    "ps",
    "test",
    "export",
];
pub(crate) const SECTION_KEYS: &[&str] = &["env", "before", "after"];
pub(crate) const LOGS_KEYS: &[&str] = &["env", "before", "after", "max_size", "keep"];

/// `env`, `before` and `after` of one command.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawSection {
    pub env: Vec<EnvEntry>,
    pub before: Vec<CommandSpec>,
    pub after: Vec<CommandSpec>,
}

/// orchestra.yml, every key read.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawProject {
    pub name: Option<Located<ProjectName>>,
    pub env: Vec<EnvEntry>,
    pub env_file: Vec<EnvFileRef>,
    pub global: RawSection,
    pub sections: BTreeMap<&'static str, RawSection>,
    pub services: Option<Vec<Located<String>>>,
    pub groups: Vec<RawGroup>,
    pub defaults: RawService,
    pub vendors: Vec<RawVendor>,
    pub logs: LogSettings,
    pub acceptance: Option<CommandSpec>,
}

/// Reads orchestra.yml.
pub(crate) fn read(ctx: &mut Ctx<'_>, node: &Node) -> RawProject {
    let mut p = RawProject::default();
    let Some(f) = read::fields(ctx, node, &[], KEYS, "project setting") else {
        return p;
    };
    if let Some((n, path)) = f.get("name")
        && let Some(text) = read::nonempty(ctx, n, &path)
    {
        match ProjectName::new(text.clone()) {
            Ok(name) => p.name = Some(ctx.located(name, &path)),
            Err(e) => {
                let message = format!("`{text}` in {} is not a valid project name", ctx.name());
                ctx.error(
                    &path,
                    Target::Value,
                    message,
                    &e.to_string(),
                    Some(
                        "names are letters, digits, `-` and `_`, starting with a letter or digit"
                            .into(),
                    ),
                );
            }
        }
    }
    p.env = f
        .get("env")
        .map(|(n, path)| read::env_map(ctx, n, &path))
        .unwrap_or_default();
    p.env_file = f
        .get("env_file")
        .map(|(n, path)| env_file::read(ctx, n, &path))
        .unwrap_or_default();
    p.global.before = f
        .get("before")
        .map(|(n, path)| read::commands(ctx, n, &path))
        .unwrap_or_default();
    p.global.after = f
        .get("after")
        .map(|(n, path)| read::commands(ctx, n, &path))
        .unwrap_or_default();
    for &name in SECTIONS {
        let Some((n, path)) = f.get(name) else {
            continue;
        };
        if name == "vendors" {
            // `vendors:` is both the vendor list and the section of `orchestra vendors`: its
            // `env`, `before` and `after` entries are the section, the others vendors.
            let section = vendors_section(ctx, n, &path);
            p.sections.insert(name, section);
            continue;
        }
        let known = if name == "logs" {
            LOGS_KEYS
        } else {
            SECTION_KEYS
        };
        let Some(s) = read::fields(ctx, n, &path, known, &format!("`{name}` setting")) else {
            continue;
        };
        let section = RawSection {
            env: s
                .get("env")
                .map(|(n, p)| read::env_map(ctx, n, &p))
                .unwrap_or_default(),
            before: s
                .get("before")
                .map(|(n, p)| read::commands(ctx, n, &p))
                .unwrap_or_default(),
            after: s
                .get("after")
                .map(|(n, p)| read::commands(ctx, n, &p))
                .unwrap_or_default(),
        };
        if name == "logs" {
            if let Some((n, path)) = s.get("max_size")
                && let Some(size) = byte_size(ctx, n, &path)
            {
                p.logs.max_size = size;
            }
            if let Some((n, path)) = s.get("keep")
                && let Some(keep) = read::integer(ctx, n, &path, 0, 1000)
            {
                p.logs.keep = keep as u32;
            }
        }
        p.sections.insert(name, section);
    }
    p.services = f
        .get("services")
        .map(|(n, path)| read::strings(ctx, n, &path));
    if let Some(globs) = &p.services {
        for g in globs {
            if let Err(e) = globset::Glob::new(&g.value) {
                let message = format!("bad glob `{}` in {}", g.value, ctx.name());
                ctx.error(
                    &g.origin.path,
                    Target::Value,
                    message,
                    &e.kind().to_string(),
                    None,
                );
            }
        }
    }
    p.groups = f
        .get("groups")
        .map(|(n, path)| groups::read(ctx, n, &path))
        .unwrap_or_default();
    if let Some((n, path)) = f.get("defaults")
        && let Some(d) = service::read(ctx, n, &path)
    {
        if let Some(name) = &d.name {
            let message = format!("`defaults` in {} cannot set `name`", ctx.name());
            let help = "every service needs its own name: set it in its service.yml";
            ctx.error(
                &name.origin.path,
                Target::Key,
                message,
                "one name for every service",
                Some(help.into()),
            );
        }
        p.defaults = d;
    }
    if let Some((n, path)) = f.get("vendors") {
        match n {
            Node::Map(entries) => {
                for (name, v) in entries {
                    if SECTION_KEYS.contains(&name.as_str()) {
                        continue;
                    }
                    if let Some(v) = vendor::read(ctx, name, v, &child(&path, name)) {
                        p.vendors.push(v);
                    }
                }
            }
            Node::Null => {}
            other => ctx.wrong_type(&path, other, "a map of vendors (`postgres: { image: … }`)"),
        }
    }
    p.acceptance = f
        .get("acceptance")
        .and_then(|(n, path)| read::command(ctx, n, &path));
    p
}

/// The `env`, `before` and `after` entries of `vendors:`.
fn vendors_section(ctx: &mut Ctx<'_>, node: &Node, path: &[Seg]) -> RawSection {
    let Node::Map(entries) = node else {
        return RawSection::default();
    };
    let mut section = RawSection::default();
    for (key, n) in entries {
        let p = child(path, key);
        match key.as_str() {
            "env" => section.env = read::env_map(ctx, n, &p),
            "before" => section.before = read::commands(ctx, n, &p),
            "after" => section.after = read::commands(ctx, n, &p),
            _ => {}
        }
    }
    section
}

/// A size: bytes as a number, or `100MiB`, `10MB`, `512KiB`, `1G`.
fn byte_size(ctx: &mut Ctx<'_>, node: &Node, path: &[Seg]) -> Option<u64> {
    if let Node::Int(n) = node {
        return read::integer(ctx, node, path, 1, i128::from(u64::MAX)).map(|_| *n as u64);
    }
    let text = read::string(ctx, node, path)?;
    match parse_size(&text) {
        Some(n) if n > 0 => Some(n),
        _ => {
            let message = format!("`{text}` in {} is not a size", ctx.name());
            let help = "write bytes, or a size like `100MiB`, `10MB` or `512KiB`";
            ctx.error(
                path,
                Target::Value,
                message,
                "not a size",
                Some(help.into()),
            );
            None
        }
    }
}

/// Parses `100MiB`, `10MB`, `1G`, `4096`.
pub(crate) fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let n: u64 = t[..digits].parse().ok()?;
    let unit: u64 = match t[digits..].trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(unit)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("100MiB"), Some(100 << 20));
        assert_eq!(parse_size("10MB"), Some(10_000_000));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("1 GiB"), Some(1 << 30));
        assert_eq!(parse_size("lots"), None);
    }
}
