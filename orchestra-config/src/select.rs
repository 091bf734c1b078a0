//! Which services a command acts on (`users orders`, `@backend`, `~users`, `~@edge`, or
//! all), which vendors (`vendors up redis`), and which log sources, services and vendors
//! alike (`logs api redis`). A name that is not in the project gets the same "did you
//! mean" as a misspelt key in a file.

use orchestra_core::name::{ServiceName, VendorName};

use crate::error::SelectError;
use crate::groups::Groups;
use crate::suggest::did_you_mean;

/// Picks services from `all` by command-line arguments: none means all, names and
/// `@group`s mean those (in the order given, without repeats), `~name`s and `~@group`s
/// mean all but those.
///
/// # Errors
///
/// A name or group the project does not have, a bare `~` or `@`, or inclusions mixed with
/// exclusions.
pub fn select_services(
    all: &[ServiceName],
    groups: &Groups,
    args: &[String],
) -> Result<Vec<ServiceName>, SelectError> {
    if args.is_empty() {
        return Ok(all.to_vec());
    }
    let excluding = args.iter().filter(|a| a.starts_with('~')).count();
    if excluding != 0 && excluding != args.len() {
        return Err(SelectError::Mixed);
    }
    let mut named = Vec::new();
    for arg in args {
        let name = arg.strip_prefix('~').unwrap_or(arg);
        if name.is_empty() {
            return Err(SelectError::Empty(arg.clone()));
        }
        if let Some(group) = name.strip_prefix('@') {
            if group.is_empty() {
                return Err(SelectError::Empty(arg.clone()));
            }
            let members = groups.get(group).ok_or_else(|| SelectError::UnknownGroup {
                name: group.to_owned(),
                help: groups.unknown_help(group),
            })?;
            for member in members {
                if all.contains(member) && !named.contains(member) {
                    named.push(member.clone());
                }
            }
            continue;
        }
        let Some(found) = all.iter().find(|s| s.as_str() == name) else {
            let help = unknown_help(name, all.iter().map(ServiceName::as_str), "services");
            return Err(SelectError::Unknown {
                name: name.to_owned(),
                help,
            });
        };
        if !named.contains(found) {
            named.push(found.clone());
        }
    }
    if excluding == 0 {
        Ok(named)
    } else {
        Ok(all.iter().filter(|s| !named.contains(s)).cloned().collect())
    }
}

/// Picks vendors by name, in the order given and without repeats; none means none.
///
/// # Errors
///
/// [`SelectError::UnknownVendor`] for a name the project has no vendor of.
pub fn select_vendors(all: &[VendorName], args: &[String]) -> Result<Vec<VendorName>, SelectError> {
    let mut named = Vec::new();
    for arg in args {
        let Some(found) = all.iter().find(|v| v.as_str() == arg) else {
            return Err(SelectError::UnknownVendor {
                name: arg.clone(),
                help: unknown_help(arg, all.iter().map(VendorName::as_str), "vendors"),
            });
        };
        if !named.contains(found) {
            named.push(found.clone());
        }
    }
    Ok(named)
}

/// Services and vendors picked together: the sources of `logs`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sources {
    /// The services picked, in the order given.
    pub services: Vec<ServiceName>,
    /// The vendors picked, in the order given.
    pub vendors: Vec<VendorName>,
}

/// Picks services and vendors alike, as [`select_services`] picks services: none means
/// all of both, names and `@group`s mean those, `~name`s and `~@group`s all but those. A name that is both a service
/// and a vendor means the service (its own files name it first).
///
/// # Errors
///
/// [`SelectError::UnknownSource`] for a name that is neither, with the closest of both;
/// [`SelectError::Mixed`] and [`SelectError::Empty`] as for [`select_services`].
pub fn select_sources(
    services: &[ServiceName],
    vendors: &[VendorName],
    groups: &Groups,
    args: &[String],
) -> Result<Sources, SelectError> {
    if args.is_empty() {
        return Ok(Sources {
            services: services.to_vec(),
            vendors: vendors.to_vec(),
        });
    }
    let mut service_args = Vec::new();
    let mut named_vendors = Vec::new();
    for arg in args {
        let name = arg.strip_prefix('~').unwrap_or(arg);
        if name.is_empty() {
            return Err(SelectError::Empty(arg.clone()));
        }
        // A group holds services: `select_services` checks it.
        if name.starts_with('@') || services.iter().any(|s| s.as_str() == name) {
            service_args.push(arg.clone());
        } else if let Some(vendor) = vendors.iter().find(|v| v.as_str() == name) {
            if !named_vendors.contains(vendor) {
                named_vendors.push(vendor.clone());
            }
        } else {
            let all = services
                .iter()
                .map(ServiceName::as_str)
                .chain(vendors.iter().map(VendorName::as_str));
            return Err(SelectError::UnknownSource {
                name: name.to_owned(),
                help: unknown_help(name, all, "services and vendors"),
            });
        }
    }
    let excluding = args.iter().filter(|a| a.starts_with('~')).count();
    if excluding == 0 {
        let services = if service_args.is_empty() {
            Vec::new()
        } else {
            select_services(services, groups, &service_args)?
        };
        Ok(Sources {
            services,
            vendors: named_vendors,
        })
    } else if excluding == args.len() {
        Ok(Sources {
            services: select_services(services, groups, &service_args)?,
            vendors: vendors
                .iter()
                .filter(|v| !named_vendors.contains(v))
                .cloned()
                .collect(),
        })
    } else {
        Err(SelectError::Mixed)
    }
}

/// The closest name, else the list of them all, else that there are none.
fn unknown_help<'a>(name: &str, all: impl Iterator<Item = &'a str> + Clone, kind: &str) -> String {
    did_you_mean(name, all.clone()).unwrap_or_else(|| {
        let list: Vec<&str> = all.collect();
        if list.is_empty() {
            format!("the project has no {kind}")
        } else {
            format!("the {kind} are: {}", list.join(", "))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<ServiceName> {
        ["orders", "payments", "users"]
            .into_iter()
            .map(|n| ServiceName::new(n).unwrap())
            .collect()
    }

    fn pick(args: &[&str]) -> Result<Vec<String>, SelectError> {
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        select_services(&all(), &Groups::default(), &args)
            .map(|v| v.into_iter().map(String::from).collect())
    }

    #[test]
    fn none_means_all() {
        assert_eq!(pick(&[]).unwrap(), ["orders", "payments", "users"]);
    }

    #[test]
    fn names_pick_and_tildes_exclude() {
        assert_eq!(
            pick(&["users", "orders", "users"]).unwrap(),
            ["users", "orders"]
        );
        assert_eq!(pick(&["~users"]).unwrap(), ["orders", "payments"]);
        assert_eq!(pick(&["~users", "~orders"]).unwrap(), ["payments"]);
    }

    #[test]
    fn mixing_is_refused() {
        assert_eq!(pick(&["users", "~orders"]), Err(SelectError::Mixed));
    }

    #[test]
    fn unknown_names_get_a_suggestion() {
        let err = pick(&["user"]).unwrap_err();
        assert_eq!(
            err,
            SelectError::Unknown {
                name: "user".into(),
                help: "did you mean `users`?".into()
            }
        );
        let err = pick(&["~zzzzzz"]).unwrap_err();
        assert!(
            matches!(err, SelectError::Unknown { help, .. } if help.contains("orders, payments, users"))
        );
        assert_eq!(pick(&["~"]), Err(SelectError::Empty("~".into())));
    }

    #[test]
    fn sources_are_services_and_vendors_alike() {
        let vendors: Vec<VendorName> = ["postgres", "redis"]
            .into_iter()
            .map(|n| VendorName::new(n).unwrap())
            .collect();
        let pick = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
            select_sources(&all(), &vendors, &Groups::default(), &args).map(|s| {
                let names = |v: Vec<String>| v.join(" ");
                (
                    names(s.services.into_iter().map(String::from).collect()),
                    names(s.vendors.iter().map(ToString::to_string).collect()),
                )
            })
        };
        let both = |s: &str, v: &str| Ok((s.to_owned(), v.to_owned()));
        assert_eq!(pick(&[]), both("orders payments users", "postgres redis"));
        assert_eq!(pick(&["redis"]), both("", "redis"));
        assert_eq!(pick(&["users", "redis", "users"]), both("users", "redis"));
        assert_eq!(
            pick(&["~users", "~redis"]),
            both("orders payments", "postgres")
        );
        assert_eq!(pick(&["~redis"]), both("orders payments users", "postgres"));
        assert_eq!(pick(&["users", "~redis"]), Err(SelectError::Mixed));
        assert_eq!(pick(&["~"]), Err(SelectError::Empty("~".into())));
        assert_eq!(
            pick(&["redsi"]),
            Err(SelectError::UnknownSource {
                name: "redsi".into(),
                help: "did you mean `redis`?".into()
            })
        );
        assert_eq!(
            pick(&["~usres"]),
            Err(SelectError::UnknownSource {
                name: "usres".into(),
                help: "did you mean `users`?".into()
            })
        );
        let err = pick(&["mongo"]).unwrap_err();
        assert!(
            matches!(&err, SelectError::UnknownSource { help, .. }
                if help == "the services and vendors are: orders, payments, users, postgres, redis"),
            "{err:?}"
        );
    }

    #[test]
    fn groups_select_and_exclude_their_services() {
        let groups = Groups::of(
            "orchestra.yml",
            &[
                ("backend", &["users", "orders"], 3),
                ("edge", &["payments"], 4),
            ],
        );
        let pick = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
            select_services(&all(), &groups, &args)
                .map(|v| v.into_iter().map(String::from).collect::<Vec<_>>())
        };
        assert_eq!(pick(&["@backend"]).unwrap(), ["users", "orders"]);
        assert_eq!(
            pick(&["@edge", "users", "@backend"]).unwrap(),
            ["payments", "users", "orders"]
        );
        assert_eq!(pick(&["~@backend"]).unwrap(), ["payments"]);
        assert_eq!(pick(&["~@edge", "~users"]).unwrap(), ["orders"]);
        assert_eq!(pick(&["@edge", "~users"]), Err(SelectError::Mixed));
        assert_eq!(pick(&["@"]), Err(SelectError::Empty("@".into())));
        assert_eq!(
            pick(&["@backnd"]),
            Err(SelectError::UnknownGroup {
                name: "backnd".into(),
                help: "did you mean `@backend`? (defined at orchestra.yml:3)".into()
            })
        );
        assert_eq!(
            pick(&["~@zzzzzz"]),
            Err(SelectError::UnknownGroup {
                name: "zzzzzz".into(),
                help: "the groups are: @backend (orchestra.yml:3), @edge (orchestra.yml:4)".into()
            })
        );
    }

    #[test]
    fn vendors_are_picked_by_the_same_suggester() {
        let all: Vec<VendorName> = ["postgres", "redis"]
            .into_iter()
            .map(|n| VendorName::new(n).unwrap())
            .collect();
        let pick = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
            select_vendors(&all, &args)
        };
        assert_eq!(pick(&["redis", "redis"]).unwrap(), [all[1].clone()]);
        assert_eq!(
            pick(&["redsi"]),
            Err(SelectError::UnknownVendor {
                name: "redsi".into(),
                help: "did you mean `redis`?".into()
            })
        );
        let err = pick(&["mongo"]).unwrap_err();
        assert!(
            matches!(&err, SelectError::UnknownVendor { help, .. } if help == "the vendors are: postgres, redis"),
            "{err:?}"
        );
        assert!(
            matches!(select_vendors(&[], &["x".into()]), Err(SelectError::UnknownVendor { help, .. }) if help == "the project has no vendors")
        );
    }
}
