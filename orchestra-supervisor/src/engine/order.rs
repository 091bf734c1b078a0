//! Which services a start includes, and in what order they may start.

use std::collections::{BTreeMap, BTreeSet};

use orchestra_core::ServiceName;
use orchestra_core::spec::{Dependency, ProjectSpec, ServiceSpec};

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

/// The tasks that `services` depend on, directly or through other tasks, but not those
/// services themselves: what a restart must make sure has run.
pub(crate) fn task_dependencies(
    project: &ProjectSpec,
    services: &BTreeSet<ServiceName>,
) -> BTreeSet<ServiceName> {
    let mut out = BTreeSet::new();
    let mut stack: Vec<&ServiceName> = services.iter().collect();
    while let Some(name) = stack.pop() {
        for dep in service_deps(project, name) {
            let is_task = project.services.get(dep).is_some_and(ServiceSpec::is_task);
            if is_task && !services.contains(dep) && out.insert(dep.clone()) {
                stack.push(dep);
            }
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use orchestra_core::ProjectName;
    use orchestra_core::spec::{CommandSpec, ServiceSpec};

    use super::*;

    fn name(s: &str) -> ServiceName {
        ServiceName::new(s).unwrap()
    }

    fn project(edges: &[(&str, &[&str])]) -> ProjectSpec {
        let service = |n: &str, deps: &[&str]| ServiceSpec {
            file: "/p/service.yml".into(),
            stop_timeout: Duration::from_secs(5),
            depends_on: deps.iter().map(|d| Dependency::Service(name(d))).collect(),
            ..ServiceSpec::command(name(n), "/p", CommandSpec::Shell("true".into()))
        };
        ProjectSpec {
            services: edges
                .iter()
                .map(|(n, deps)| (name(n), service(n, deps)))
                .collect(),
            ..ProjectSpec::empty(ProjectName::new("p").unwrap(), "/p")
        }
    }

    fn names(levels: &[Vec<ServiceName>]) -> Vec<Vec<String>> {
        levels
            .iter()
            .map(|l| l.iter().map(ToString::to_string).collect())
            .collect()
    }

    #[test]
    fn levels_put_every_service_one_above_its_deepest_dependency() {
        let p = project(&[
            ("db", &[]),
            ("cache", &[]),
            ("api", &["db", "cache"]),
            ("web", &["api", "db"]),
            ("lone", &[]),
        ]);
        let all: BTreeSet<ServiceName> = p.services.keys().cloned().collect();
        assert_eq!(
            names(&levels(&p, &all)),
            [vec!["cache", "db", "lone"], vec!["api"], vec!["web"]]
        );
        // Only the services asked for, their levels counted among themselves.
        let some: BTreeSet<ServiceName> = [name("web"), name("db")].into();
        assert_eq!(names(&levels(&p, &some)), [vec!["db"], vec!["web"]]);
    }

    #[test]
    fn a_cycle_goes_to_the_bottom_level_instead_of_hanging() {
        let p = project(&[("a", &["b"]), ("b", &["a"]), ("c", &[])]);
        let all: BTreeSet<ServiceName> = p.services.keys().cloned().collect();
        assert_eq!(names(&levels(&p, &all)), [vec!["a", "b", "c"]]);
    }
}
