//! Checks across files: unique names, known dependencies, no cycles, a way to run each
//! service.

use std::collections::{BTreeMap, BTreeSet};

use orchestra_core::spec::ServiceKind;

use crate::error::Problem;
use crate::project::{LoadedService, Project};
use crate::read::Located;
use crate::source::Target;
use crate::suggest::did_you_mean;

/// Runs every cross-file check, pushing what is wrong.
pub(crate) fn project(p: &Project, problems: &mut Vec<Problem>) {
    unique_names(p, problems);
    runnable(p, problems);
    dependencies(p, problems);
    groups(p, problems);
    cycles(p, problems);
    port_ranges(p, problems);
}

/// A port written as a number whose replicas would go past 65535, found here so that it is
/// reported with every other problem (a port from a variable is checked at resolution).
fn port_ranges(p: &Project, problems: &mut Vec<Problem>) {
    for s in &p.services {
        let Some(port) = &s.raw.port else { continue };
        let Ok(first) = port.value.trim().parse::<u16>() else {
            continue;
        };
        let last = u32::from(first) + s.raw.scale.unwrap_or(1).max(1) - 1;
        if last > u32::from(u16::MAX) {
            let message = format!(
                "service `{}` needs ports {first}–{last}, beyond 65535",
                s.name
            );
            problems.push(
                port.origin
                    .problem(Target::Value, message, "base port")
                    .help("replica n listens on port + n: lower the port or the scale"),
            );
        }
    }
}

fn name_problem(s: &LoadedService, message: String, label: &str) -> Problem {
    match &s.raw.name {
        Some(n) => n.origin.problem(Target::Value, message, label),
        None => Problem::at(&s.file, &[], Target::Key, message, "named after its folder"),
    }
}

fn unique_names(p: &Project, problems: &mut Vec<Problem>) {
    let mut seen: BTreeMap<&str, &LoadedService> = BTreeMap::new();
    for s in &p.services {
        if let Some(first) = seen.get(s.name.as_str()) {
            let message = format!(
                "two services are named `{}`: {} and {}",
                s.name, first.file.name, s.file.name
            );
            problems.push(
                name_problem(s, message, "same name as another service")
                    .help("give one of them another `name:` in its service file"),
            );
        } else {
            seen.insert(s.name.as_str(), s);
        }
    }
    for v in &p.raw.vendors {
        if let Some(s) = seen.get(v.name.value.as_str()) {
            let message = format!(
                "`{}` is both a service ({}) and a vendor",
                s.name, s.file.name
            );
            problems.push(
                v.name
                    .origin
                    .problem(Target::Key, message, "also a service")
                    .help("rename the vendor or set another `name:` in the service file"),
            );
        }
    }
}

fn runnable(p: &Project, problems: &mut Vec<Problem>) {
    for s in &p.services {
        if s.kind == ServiceKind::Command && !s.raw.run_written {
            let message = format!(
                "service `{}` has no `run` command and is not a Go package",
                s.name
            );
            problems.push(
                Problem::at(&s.file, &[], Target::Key, message, "no `run` in this file")
                    .help(format!("add `run: ./start.sh` to {}", s.file.name)),
            );
        }
    }
}

fn dependencies(p: &Project, problems: &mut Vec<Problem>) {
    let services: Vec<&str> = p.services.iter().map(|s| s.name.as_str()).collect();
    let vendors: Vec<&str> = p
        .raw
        .vendors
        .iter()
        .map(|v| v.name.value.as_str())
        .collect();
    for s in &p.services {
        for dep in s.raw.depends_on.iter().flatten() {
            let name = dep.value.as_str();
            if services.contains(&name) || vendors.contains(&name) {
                continue;
            }
            let help = did_you_mean(name, services.iter().chain(&vendors).copied())
                .unwrap_or_else(|| known_names(&services, &vendors));
            let message = format!(
                "service `{}` depends on `{name}`, which is neither a service nor a vendor",
                s.name
            );
            problems.push(
                dep.origin
                    .problem(Target::Value, message, "unknown name")
                    .help(help),
            );
        }
    }
}

/// Every member of a group is a service: a group is a way to select services, and a name
/// that is none would make `@group` select less than it says.
fn groups(p: &Project, problems: &mut Vec<Problem>) {
    let services: Vec<&str> = p.services.iter().map(|s| s.name.as_str()).collect();
    for group in &p.raw.groups {
        for member in &group.members {
            let name = member.value.as_str();
            if services.contains(&name) {
                continue;
            }
            let is_vendor = p.raw.vendors.iter().any(|v| v.name.value.as_str() == name);
            let (message, help) = if is_vendor {
                (
                    format!(
                        "group `{}` names `{name}`, a vendor: groups hold services",
                        group.name.value
                    ),
                    "leave it out: a service's vendors start with it".to_owned(),
                )
            } else {
                (
                    format!(
                        "group `{}` names `{name}`, which is not a service",
                        group.name.value
                    ),
                    did_you_mean(name, services.iter().copied()).unwrap_or_else(|| {
                        if services.is_empty() {
                            "the project has no services".to_owned()
                        } else {
                            format!("the services are: {}", services.join(", "))
                        }
                    }),
                )
            };
            problems.push(
                member
                    .origin
                    .problem(Target::Value, message, "unknown service")
                    .help(help),
            );
        }
    }
}

fn known_names(services: &[&str], vendors: &[&str]) -> String {
    let list = |v: &[&str]| {
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.join(", ")
        }
    };
    format!("services: {}; vendors: {}", list(services), list(vendors))
}

/// Finds dependency cycles among services and reports each once, as `a → b → a`.
fn cycles(p: &Project, problems: &mut Vec<Problem>) {
    let edges: BTreeMap<&str, Vec<&Located<String>>> = p
        .services
        .iter()
        .map(|s| {
            let deps = s
                .raw
                .depends_on
                .iter()
                .flatten()
                .filter(|d| p.services.iter().any(|o| o.name.as_str() == d.value))
                .collect();
            (s.name.as_str(), deps)
        })
        .collect();
    let mut reported: BTreeSet<Vec<&str>> = BTreeSet::new();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    for &start in edges.keys() {
        let mut stack = vec![start];
        walk(&edges, &mut stack, &mut done, &mut |cycle, closing| {
            let mut key = cycle.to_vec();
            key.sort_unstable();
            if reported.insert(key) {
                let mut shown: Vec<&str> = cycle.to_vec();
                shown.push(cycle[0]);
                let message = format!("dependency cycle: {}", shown.join(" → "));
                problems.push(
                    closing
                        .origin
                        .problem(Target::Value, message, "closes the cycle")
                        .help("remove one of these `depends_on` entries"),
                );
            }
        });
    }
}

fn walk<'a>(
    edges: &BTreeMap<&'a str, Vec<&'a Located<String>>>,
    stack: &mut Vec<&'a str>,
    done: &mut BTreeSet<&'a str>,
    found: &mut dyn FnMut(&[&'a str], &'a Located<String>),
) {
    let Some(&node) = stack.last() else { return };
    if done.contains(node) {
        return;
    }
    for dep in edges.get(node).into_iter().flatten() {
        let next = dep.value.as_str();
        if let Some(pos) = stack.iter().position(|&n| n == next) {
            found(&stack[pos..], dep);
            continue;
        }
        let Some((&key, _)) = edges.get_key_value(next) else {
            continue;
        };
        stack.push(key);
        walk(edges, stack, done, found);
        stack.pop();
    }
    done.insert(node);
}
