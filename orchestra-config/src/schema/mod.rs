//! JSON Schemas (draft 2020-12) of orchestra.yml and service.yml, for editors.
//!
//! The schemas are derived with schemars from one struct per level of each file
//! ([`files`]), whose fields are the keys the readers in [`crate::raw`] accept and whose
//! value types ([`leaf`]) stand for the readers of [`crate::read`]. The tests below compare
//! each level's keys with its reader's list, so a key added to one and not the other fails
//! the build's tests instead of drifting. The schema checks shapes only; what depends on
//! more than one value (a dependency that exists, a port claimed twice) is the loader's.

mod files;
mod leaf;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};

/// The JSON Schema of orchestra.yml.
///
/// ```
/// let schema = orchestra_config::project_schema();
/// assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
/// assert!(schema["properties"]["vendors"].is_object());
/// ```
pub fn project_schema() -> serde_json::Value {
    generate::<files::ProjectFile>()
}

/// The JSON Schema of service.yml.
pub fn service_schema() -> serde_json::Value {
    generate::<files::ServiceFile>()
}

fn generate<T: JsonSchema>() -> serde_json::Value {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    // Named by `$ref` in the hand-written `EnvFiles`, so defined here.
    generator.subschema_for::<files::EnvFileEntry>();
    let mut schema: Schema = generator.into_root_schema_for::<T>();
    // An empty file is valid: YAML reads it as null.
    schema.insert("type".into(), serde_json::json!(["object", "null"]));
    schema.to_value()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::{project_schema, service_schema};
    use crate::raw;

    /// The property names of the object schema at `pointer`: through `$ref`s, and in the
    /// object-shaped branch of an `anyOf` (`Nullable<T>`, `Or<bool, T>`).
    fn keys(root: &Value, pointer: &str) -> BTreeSet<String> {
        let at = root.pointer(pointer).unwrap_or_else(|| panic!("{pointer}"));
        object_keys(root, at).unwrap_or_else(|| panic!("no object schema at {pointer}"))
    }

    fn object_keys(root: &Value, at: &Value) -> Option<BTreeSet<String>> {
        if let Some(properties) = at.get("properties").and_then(Value::as_object) {
            return Some(properties.keys().cloned().collect());
        }
        if let Some(target) = at.get("$ref").and_then(Value::as_str) {
            return object_keys(root, root.pointer(target.trim_start_matches('#'))?);
        }
        at.get("anyOf")?
            .as_array()?
            .iter()
            .find_map(|branch| object_keys(root, branch))
    }

    fn set(keys: &[&str]) -> BTreeSet<String> {
        keys.iter().map(|k| (*k).to_owned()).collect()
    }

    #[test]
    fn every_level_has_exactly_the_keys_its_reader_accepts() {
        let service = service_schema();
        let project = project_schema();
        assert_eq!(keys(&service, ""), set(raw::service::KEYS));
        let defaults: Vec<&str> = raw::service::KEYS
            .iter()
            .copied()
            .filter(|k| !["name", "task"].contains(k))
            .collect();
        assert_eq!(keys(&project, "/properties/defaults"), set(&defaults));
        assert_eq!(keys(&project, ""), set(raw::project::KEYS));
        for section in raw::project::SECTIONS {
            let expected = match *section {
                "logs" => raw::project::LOGS_KEYS,
                _ => raw::project::SECTION_KEYS,
            };
            assert_eq!(
                keys(&project, &format!("/properties/{section}")),
                set(expected),
                "{section}"
            );
        }
        assert_eq!(
            keys(&service, "/properties/ready"),
            set(raw::ready::KEYS),
            "ready"
        );
        assert_eq!(
            keys(&service, "/properties/restart"),
            set(raw::service::RESTART_KEYS)
        );
        assert_eq!(
            keys(&service, "/properties/rerun"),
            set(raw::service::RERUN_KEYS)
        );
        assert_eq!(
            keys(&service, "/properties/docker"),
            set(raw::service::DOCKER_KEYS)
        );
        assert_eq!(
            keys(&service, "/properties/task"),
            set(raw::service::TASK_KEYS)
        );
        assert_eq!(
            keys(&project, "/$defs/Vendor"),
            set(raw::vendor::KEYS),
            "vendor"
        );
        assert_eq!(
            keys(&project, "/$defs/Vendor/properties/ready"),
            set(raw::vendor::READY_KEYS)
        );
        assert_eq!(
            keys(&project, "/$defs/EnvFileEntry"),
            set(raw::env_file::KEYS)
        );
        assert_eq!(
            keys(&project, "/$defs/LongPort"),
            set(raw::vendor_port::LONG_PORT_KEYS)
        );
    }
}
