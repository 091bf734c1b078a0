//! Which services a start includes, and in what order they may start.

use std::collections::{BTreeMap, BTreeSet};

use orchestra_core::ServiceName;
use orchestra_core::spec::{Dependency, ProjectSpec};

/// The service dependencies of `name` that exist in the project (vendors are left to the
/// vendors crate).
pub(crate) fn service_deps<'a>(
    project: &'a ProjectSpec,
    name: &ServiceName,
) -> impl Iterator<Item = &'a ServiceName> {
    project
        .services
        .get(name)
        .into_iter()
        .flat_map(|s| s.depends_on.iter())
        .filter_map(move |d| match d {
            Dependency::Service(s) if project.services.contains_key(s) => Some(s),
            Dependency::Service(_) | Dependency::Vendor(_) => None,
        })
}

/// `selected` plus everything they depend on, transitively.
pub(crate) fn with_dependencies(
    project: &ProjectSpec,
    selected: &[ServiceName],
) -> BTreeSet<ServiceName> {
    let mut out = BTreeSet::new();
    let mut stack: Vec<ServiceName> = selected.to_vec();
    while let Some(name) = stack.pop() {
        if project.services.contains_key(&name) && out.insert(name.clone()) {
            stack.extend(service_deps(project, &name).cloned());
        }
    }
    out
}

/// Splits `services` into a start order (dependencies first) and those caught in a
/// dependency cycle, which can never start. Configuration rejects cycles; this keeps the
/// engine from waiting forever if one slips through.
pub(crate) fn order(
    project: &ProjectSpec,
    services: &BTreeSet<ServiceName>,
) -> (Vec<ServiceName>, Vec<ServiceName>) {
    let mut pending: BTreeMap<&ServiceName, BTreeSet<&ServiceName>> = services
        .iter()
        .map(|s| {
            let deps = service_deps(project, s)
                .filter(|d| services.contains(*d))
                .collect();
            (s, deps)
        })
        .collect();
    let mut ordered = Vec::new();
    loop {
        let ready: Vec<&ServiceName> = pending
            .iter()
            .filter(|(_, deps)| deps.is_empty())
            .map(|(s, _)| *s)
            .collect();
        if ready.is_empty() {
            break;
        }
        for s in ready {
            pending.remove(s);
            for deps in pending.values_mut() {
                deps.remove(s);
            }
            ordered.push(s.clone());
        }
    }
    let cyclic = pending.into_keys().cloned().collect();
    (ordered, cyclic)
}

/// `services` grouped by depth in the dependency graph: level 0 depends on none of the
/// others, level n on something at level n - 1. Starting goes up the levels; stopping
/// goes down them, so a dependant always stops before what it depends on. Services caught
/// in a cycle go to level 0.
pub(crate) fn levels(
    project: &ProjectSpec,
    services: &BTreeSet<ServiceName>,
) -> Vec<Vec<ServiceName>> {
    let (ordered, cyclic) = order(project, services);
    let mut depth: BTreeMap<ServiceName, usize> = cyclic.into_iter().map(|s| (s, 0)).collect();
    for name in ordered {
        let d = service_deps(project, &name)
            .filter_map(|dep| depth.get(dep))
            .map(|d| d + 1)
            .max()
            .unwrap_or(0);
        depth.insert(name, d);
    }
    let mut out: Vec<Vec<ServiceName>> = Vec::new();
    for (name, d) in depth {
        if out.len() <= d {
            out.resize_with(d + 1, Vec::new);
        }
        out[d].push(name);
    }
    out
}
