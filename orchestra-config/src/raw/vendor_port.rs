//! A vendor's `ports:` entries, in every form Docker Compose writes them: `5432`,
//! `15432:5432`, `127.0.0.1:15432:5432`, `5432/tcp`, and the long form
//! `{target, published, host_ip, protocol, mode}`. Vendors are published on 127.0.0.1
//! only, so an address other than the loopback one, or a UDP port, is refused rather than
//! quietly changed.

use orchestra_core::spec::PortMapping;

use crate::node::Node;
use crate::read::{self, Ctx, Located};
use crate::source::{Seg, Target, item};

/// The keys of the long form.
pub(crate) const LONG_PORT_KEYS: &[&str] = &["target", "published", "host_ip", "protocol", "mode"];

/// Reads `ports:`. Each entry comes back as `HOST:CONTAINER` text (or the short form as
/// written, when it holds a `$` to fill at resolution), located where it was written.
pub(crate) fn read(ctx: &mut Ctx<'_>, node: &Node, path: &[Seg]) -> Vec<Located<String>> {
    let items: Vec<(&Node, Vec<Seg>)> = match node {
        Node::Null => return Vec::new(),
        Node::Seq(items) => items
            .iter()
            .enumerate()
            .map(|(i, n)| (n, item(path, i)))
            .collect(),
        other => vec![(other, path.to_vec())],
    };
    items
        .into_iter()
        .filter_map(|(n, p)| match n {
            Node::Map(_) => long(ctx, n, &p),
            _ => short(ctx, n, &p),
        })
        .collect()
}

fn short(ctx: &mut Ctx<'_>, node: &Node, path: &[Seg]) -> Option<Located<String>> {
    let text = read::nonempty(ctx, node, path)?;
    if text.contains('$') {
        return read::check_template(ctx, &text, path).then(|| ctx.located(text, path));
    }
    match parse_port_mapping(&text) {
        Ok(m) => Some(ctx.located(format!("{}:{}", m.host, m.container), path)),
        Err(e) => {
            let message = format!("`{text}` in {} is not a port mapping", ctx.name());
            let help = "write `HOST:CONTAINER` like `5432:5432`, `127.0.0.1:5432:5432`, \
                        or one port for both sides";
            ctx.error(path, Target::Value, message, &e, Some(help.into()));
            None
        }
    }
}

fn long(ctx: &mut Ctx<'_>, node: &Node, path: &[Seg]) -> Option<Located<String>> {
    let f = read::fields(ctx, node, path, LONG_PORT_KEYS, "port setting")?;
    let mut ok = true;
    for (key, check) in [
        ("host_ip", check_host as fn(&str) -> Result<(), String>),
        ("protocol", check_protocol),
        ("mode", check_mode),
    ] {
        if let Some((n, p)) = f.get(key)
            && let Some(text) = read::nonempty(ctx, n, &p)
            && let Err(e) = check(&text)
        {
            let message = format!("`{key}: {text}` in {} cannot be used", ctx.name());
            ctx.error(&p, Target::Value, message, &e, None);
            ok = false;
        }
    }
    let number = |ctx: &mut Ctx<'_>, key: &str| -> Option<u16> {
        let (n, p) = f.get(key)?;
        let text = read::nonempty(ctx, n, &p)?;
        crate::raw::service::parse_port(ctx, &text, &p)
    };
    let Some(target) = number(ctx, "target") else {
        if f.get("target").is_none() {
            let message = format!("a port in {} has no `target`", ctx.name());
            let help = "`target` is the port inside the container, e.g. `{target: 5432, published: 15432}`";
            ctx.error(path, Target::Key, message, "no target", Some(help.into()));
        }
        return None;
    };
    let published = match f.get("published") {
        Some(_) => number(ctx, "published")?,
        None => target,
    };
    ok.then(|| ctx.located(format!("{published}:{target}"), path))
}

/// Compose's short syntax, as far as it means "a TCP port on the loopback address":
/// `5432` (the same port on both sides), `15432:5432`, `127.0.0.1:15432:5432`, each with
/// an optional `/tcp`.
pub(crate) fn parse_port_mapping(text: &str) -> Result<PortMapping, String> {
    let (ports, protocol) = match text.trim().rsplit_once('/') {
        Some((ports, protocol)) => (ports, Some(protocol)),
        None => (text.trim(), None),
    };
    if let Some(protocol) = protocol {
        check_protocol(protocol)?;
    }
    let one = |s: &str| match s.trim().parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ if s.contains('-') => Err(format!("`{s}`: port ranges are not supported")),
        _ => Err(format!("`{s}` is not a port (1 to 65535)")),
    };
    let parts: Vec<&str> = ports.rsplitn(3, ':').collect();
    let (host, container) = match parts.as_slice() {
        [container] => (one(container)?, one(container)?),
        [container, host] => (one(host)?, one(container)?),
        [container, host, ip] => {
            check_host(ip)?;
            let container = one(container)?;
            // `127.0.0.1::5432`: compose picks a free host port; the same port is the
            // nearest stable choice for a fleet that others address by port.
            let host = if host.is_empty() {
                container
            } else {
                one(host)?
            };
            (host, container)
        }
        _ => return Err("expected `HOST:CONTAINER`".into()),
    };
    Ok(PortMapping { host, container })
}

fn check_host(ip: &str) -> Result<(), String> {
    match ip.trim().trim_start_matches('[').trim_end_matches(']') {
        "127.0.0.1" | "localhost" | "::1" => Ok(()),
        other => Err(format!(
            "`{other}`: vendors are published on 127.0.0.1 only"
        )),
    }
}

fn check_protocol(protocol: &str) -> Result<(), String> {
    if protocol.trim().eq_ignore_ascii_case("tcp") {
        Ok(())
    } else {
        Err(format!("`{protocol}`: only tcp ports can be published"))
    }
}

fn check_mode(mode: &str) -> Result<(), String> {
    if mode.trim() == "host" {
        Ok(())
    } else {
        Err(format!("`{mode}`: only `host` mode is supported"))
    }
}

#[cfg(test)]
mod tests {
    use super::parse_port_mapping;
    use orchestra_core::spec::PortMapping;

    fn ok(text: &str) -> (u16, u16) {
        let PortMapping { host, container } =
            parse_port_mapping(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        (host, container)
    }

    #[test]
    fn compose_short_forms() {
        assert_eq!(ok("5432"), (5432, 5432));
        assert_eq!(ok("5432/tcp"), (5432, 5432));
        assert_eq!(ok("15432:5432"), (15432, 5432));
        assert_eq!(ok("127.0.0.1:15432:5432"), (15432, 5432));
        assert_eq!(ok("127.0.0.1:15432:5432/tcp"), (15432, 5432));
        assert_eq!(ok("localhost::6379"), (6379, 6379));
        assert_eq!(ok("[::1]:8080:80"), (8080, 80));
    }

    #[test]
    fn what_cannot_be_published_here_is_refused() {
        for bad in [
            "0.0.0.0:80:80",
            "53/udp",
            "8000-8010:8000-8010",
            "x",
            "0",
            "1:2:3:4",
        ] {
            assert!(parse_port_mapping(bad).is_err(), "{bad}");
        }
    }
}
