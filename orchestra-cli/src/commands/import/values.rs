//! Single values of a compose file in Orchestra's forms: ports, volumes, healthchecks and
//! commands.

use yaml_serde::{Mapping, Value};

use super::set;

/// A compose healthcheck as a readiness probe: `curl`/`wget` of a URL becomes an `http`
/// probe of a service, any other test an `exec` (run in the container for a vendor).
pub(super) fn healthcheck(h: &Value, vendor: bool) -> Option<Value> {
    if h.get("disable").and_then(Value::as_bool) == Some(true) {
        return None;
    }
    let test = h.get("test")?;
    let command: Value = match test {
        Value::String(s) => Value::String(s.clone()),
        Value::Sequence(items) => {
            let words: Vec<String> = items.iter().map(str_of).collect();
            match words.split_first() {
                Some((kind, rest)) if kind == "CMD-SHELL" => Value::String(rest.join(" ")),
                Some((kind, rest)) if kind == "CMD" && !rest.is_empty() => {
                    Value::Sequence(rest.iter().cloned().map(Value::String).collect())
                }
                _ => return None,
            }
        }
        _ => return None,
    };
    let mut ready = Mapping::new();
    let text = match &command {
        Value::String(s) => s.clone(),
        other => other
            .as_sequence()
            .into_iter()
            .flatten()
            .map(str_of)
            .collect::<Vec<_>>()
            .join(" "),
    };
    let url = text.split_whitespace().find(|w| w.starts_with("http://"));
    match url {
        Some(url) if !vendor && (text.starts_with("curl") || text.starts_with("wget")) => {
            set(&mut ready, "http", url.replace("localhost", "127.0.0.1"));
        }
        _ => set(&mut ready, "exec", command),
    }
    // Compose retries `retries` times, `interval` apart, after `start_period`: Orchestra's
    // one deadline covers that whole span.
    let dur = |k: &str, default: u64| {
        h.get(k)
            .map(str_of)
            .and_then(|t| orchestra_core::parse_duration(&t).ok())
            .map_or(default, |d| d.as_secs())
    };
    if ["interval", "retries", "start_period"]
        .iter()
        .any(|k| h.get(*k).is_some())
    {
        let retries = h.get("retries").and_then(Value::as_u64).unwrap_or(3);
        let total = dur("start_period", 0) + dur("interval", 30) * retries.max(1);
        set(&mut ready, "timeout", format!("{}s", total.max(1)));
    }
    if let Some(interval) = h.get("interval").map(str_of)
        && !vendor
        && orchestra_core::parse_duration(&interval).is_ok()
    {
        set(&mut ready, "interval", interval);
    }
    Some(Value::Mapping(ready))
}

/// The host side of a compose service's port (`"8080:80"` → 8080, `8080` → 8080).
pub(super) fn host_port(p: &Value) -> Option<u16> {
    if let Some(m) = p.as_mapping() {
        return m
            .get("published")
            .or_else(|| m.get("target"))
            .map(str_of)?
            .parse()
            .ok();
    }
    let text = str_of(p);
    let text = text.split('/').next()?;
    let parts: Vec<&str> = text.rsplitn(3, ':').collect();
    let host = match parts.as_slice() {
        [only] => *only,
        [container, host, ..] => {
            if host.is_empty() {
                container
            } else {
                host
            }
        }
        [] => return None,
    };
    host.parse().ok()
}

/// The container side of a compose port (`"8080:80"` → 80).
pub(super) fn container_port(p: &Value) -> Option<u16> {
    if let Some(m) = p.as_mapping() {
        return str_of(m.get("target")?).parse().ok();
    }
    let text = str_of(p);
    text.split('/').next()?.rsplit(':').next()?.parse().ok()
}

/// A vendor's port in a form Orchestra takes: compose's forms are kept, an address other
/// than the loopback one is dropped from it (vendors are published on 127.0.0.1 only).
pub(super) fn vendor_port(name: &str, p: &Value, notes: &mut Vec<String>) -> Option<Value> {
    if let Some(m) = p.as_mapping() {
        let mut m = m.clone();
        if let Some(ip) = m.get("host_ip").map(str_of)
            && !matches!(ip.as_str(), "127.0.0.1" | "localhost" | "::1")
        {
            m.remove("host_ip");
            notes.push(format!(
                "`{name}`: port {} is published on 127.0.0.1, not {ip}",
                str_of(&m["target"])
            ));
        }
        return Some(Value::Mapping(m));
    }
    let text = str_of(p);
    let parts: Vec<&str> = text.split(':').collect();
    let kept = if parts.len() == 3 && !matches!(parts[0], "127.0.0.1" | "localhost") {
        notes.push(format!(
            "`{name}`: `{text}` is published on 127.0.0.1, not {}",
            parts[0]
        ));
        format!("{}:{}", parts[1], parts[2])
    } else {
        text.clone()
    };
    if kept.contains('-') || kept.ends_with("/udp") {
        notes.push(format!(
            "`{name}`: port `{text}` (a range, or UDP) cannot be published: left out"
        ));
        return None;
    }
    Some(Value::String(kept))
}

/// A volume in the short form Orchestra takes.
pub(super) fn volume(name: &str, v: &Value, notes: &mut Vec<String>) -> Option<String> {
    let Some(m) = v.as_mapping() else {
        return Some(str_of(v));
    };
    let (Some(source), Some(target)) = (m.get("source"), m.get("target")) else {
        notes.push(format!(
            "`{name}`: a volume without `source` and `target` is left out"
        ));
        return None;
    };
    let ro = if m.get("read_only").and_then(Value::as_bool) == Some(true) {
        ":ro"
    } else {
        ""
    };
    Some(format!("{}:{}{ro}", str_of(source), str_of(target)))
}

/// A compose `command:`: a string stays a string (run with `sh -c`), a list a list.
pub(super) fn command(v: &Value) -> Option<Value> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(Value::String(s.clone())),
        Value::Sequence(items) if !items.is_empty() => Some(Value::Sequence(
            items.iter().map(|i| Value::String(str_of(i))).collect(),
        )),
        _ => None,
    }
}

/// A scalar as text (`5432` → "5432").
pub(super) fn str_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        other => yaml_serde::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_owned(),
    }
}
