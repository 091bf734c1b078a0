//! The schemas of the values the readers in [`crate::read`] accept: each type here stands
//! for one reader and says, in JSON Schema, exactly what that reader takes.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

/// Declares a type whose schema is written out by hand, named in `$defs`.
macro_rules! leaf {
    ($(#[$doc:meta])* $ty:ident => $schema:tt) => {
        $(#[$doc])*
        #[derive(Default)]
        pub(crate) struct $ty;

        impl JsonSchema for $ty {
            fn schema_name() -> Cow<'static, str> {
                stringify!($ty).into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!($schema)
            }
        }
    };
}

/// A name (project, service, vendor, volume): what `orchestra_core::name::validate_name`
/// accepts.
pub(crate) const NAME_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$";

/// A duration as `orchestra_core::parse_duration` reads it, or a bare `0`.
pub(crate) const DURATION_PATTERN: &str =
    r"^\s*(0|(\d+(ms|s|sec|secs|m|min|mins|h|hr|hrs)\s*)+)\s*$";

leaf!(
    /// `read::duration`.
    Duration => {
        "description": "a duration: `250ms`, `10s`, `1m30s`, `2h`, or 0",
        "anyOf": [
            { "type": "string", "pattern": DURATION_PATTERN },
            { "const": 0 }
        ]
    }
);

leaf!(
    /// `read::command`: a string for `sh -c`, or a list executed directly.
    Command => {
        "description": "a command: a string run with `sh -c`, or a list of arguments executed directly",
        "anyOf": [
            { "type": "string", "minLength": 1 },
            { "type": "array", "items": { "type": ["string", "number", "boolean"] }, "minItems": 1 }
        ]
    }
);

leaf!(
    /// `read::commands`: hooks, one command or a list of them.
    Commands => {
        "description": "one command or a list of commands",
        "anyOf": [
            { "type": "null" },
            { "type": "string", "minLength": 1 },
            {
                "type": "array",
                "items": {
                    "anyOf": [
                        { "type": "string", "minLength": 1 },
                        { "type": "array", "items": { "type": ["string", "number", "boolean"] }, "minItems": 1 }
                    ]
                }
            }
        ]
    }
);

leaf!(
    /// `read::strings`: one value or a list; numbers are taken as written.
    Strings => {
        "description": "one value or a list of values",
        "anyOf": [
            { "type": "null" },
            { "type": ["string", "number", "boolean"] },
            { "type": "array", "items": { "type": ["string", "number", "boolean"] } }
        ]
    }
);

leaf!(
    /// `read::env_map`.
    EnvMap => {
        "description": "environment variables, `NAME: value`",
        "type": ["object", "null"],
        "propertyNames": { "pattern": "^[A-Za-z_][A-Za-z0-9_]*$" },
        "additionalProperties": { "type": ["string", "number", "boolean", "null"] }
    }
);

leaf!(
    /// `raw::service::port`: a number, or text to interpolate (`$USERS_PORT`).
    Port => {
        "description": "a port number, or a `$VARIABLE` that holds one",
        "anyOf": [
            { "type": "integer", "minimum": 1, "maximum": 65535 },
            { "type": "string", "minLength": 1 }
        ]
    }
);

leaf!(
    /// A project or service name.
    Name => {
        "description": "letters, digits, `-` and `_`, starting with a letter or digit",
        "type": "string",
        "pattern": NAME_PATTERN
    }
);

leaf!(
    /// `read::signal`: `SIGTERM`, `term`, `INT`…
    SignalName => {
        "description": "a signal name such as `SIGTERM`, `SIGINT` or `SIGQUIT`",
        "type": "string",
        "pattern": r"^\s*[A-Za-z][A-Za-z0-9+]*\s*$"
    }
);

leaf!(
    /// A restart policy name (`RestartPolicy::NAMES`).
    Policy => {
        "enum": ["always", "on-failure", "never"]
    }
);

leaf!(
    /// `raw::project::byte_size`: bytes, or `100MiB`, `10MB`, `1G`.
    ByteSize => {
        "description": "a size: bytes, or `100MiB`, `10MB`, `512KiB`, `1G`",
        "anyOf": [
            { "type": "integer", "minimum": 1 },
            { "type": "string", "pattern": r"^\s*\d+\s*([KkMmGg]i?[Bb]?|[Bb])?\s*$" }
        ]
    }
);

leaf!(
    /// A glob list (`watch`, `ignore`, `services`).
    Globs => {
        "description": "one glob or a list of globs",
        "anyOf": [
            { "type": "null" },
            { "type": "string", "minLength": 1 },
            { "type": "array", "items": { "type": "string", "minLength": 1 } }
        ]
    }
);

leaf!(
    /// `raw::env_file::read`: a path, `{path, required}`, or a list of either.
    EnvFiles => {
        "description": "dotenv file(s): a path, `{ path, required: false }` for one that may be absent, or a list",
        "anyOf": [
            { "type": "null" },
            { "type": ["string", "number"], "minLength": 1 },
            { "$ref": "#/$defs/EnvFileEntry" },
            {
                "type": "array",
                "items": { "anyOf": [
                    { "type": ["string", "number"], "minLength": 1 },
                    { "$ref": "#/$defs/EnvFileEntry" }
                ] }
            }
        ]
    }
);

leaf!(
    /// `raw::groups::read`: group names to the services they hold.
    Groups => {
        "description": "named groups of services, selected on the command line as `@name` (`~@name` leaves them out)",
        "type": ["object", "null"],
        "propertyNames": { "pattern": NAME_PATTERN },
        "additionalProperties": {
            "description": "the services of the group",
            "anyOf": [
                { "type": "null" },
                { "type": "string", "pattern": NAME_PATTERN },
                { "type": "array", "items": { "type": "string", "pattern": NAME_PATTERN } }
            ]
        }
    }
);
