//! `groups:` in orchestra.yml: named sets of services, selected on the command line as
//! `@name`. Members are checked against the services once every service.yml is read
//! (see `validate`).

use orchestra_core::name::validate_name;

use crate::node::Node;
use crate::read::{self, Ctx, Located};
use crate::source::{Seg, Target, child};

/// One group as written: its name and its members, each with where it was written.
#[derive(Debug, Clone)]
pub(crate) struct RawGroup {
    pub name: Located<String>,
    pub members: Vec<Located<String>>,
}

/// Reads `groups: {backend: [users, orders], edge: gateway}`.
pub(crate) fn read(ctx: &mut Ctx<'_>, node: &Node, path: &[Seg]) -> Vec<RawGroup> {
    let entries = match node {
        Node::Null => return Vec::new(),
        Node::Map(entries) => entries,
        other => {
            ctx.wrong_type(path, other, "a map of groups (`backend: [users, orders]`)");
            return Vec::new();
        }
    };
    let mut groups = Vec::new();
    for (name, members) in entries {
        let at = child(path, name);
        if let Err(e) = validate_name(name) {
            let message = format!("`{name}` in {} is not a valid group name", ctx.name());
            let help = "names are letters, digits, `-` and `_`, starting with a letter or digit";
            ctx.error(&at, Target::Key, message, &e.to_string(), Some(help.into()));
            continue;
        }
        groups.push(RawGroup {
            name: ctx.located(name.clone(), &at),
            members: read::strings(ctx, members, &at),
        });
    }
    groups
}
