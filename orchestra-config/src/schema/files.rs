//! The shapes of orchestra.yml and service.yml, one struct per level, each with exactly
//! the keys its reader in [`crate::raw`] accepts (the tests in `super` compare the two).

// The shapes are described to schemars, never built: their fields are read by nobody.
#![expect(dead_code, reason = "schema-only types")]

use std::borrow::Cow;
use std::marker::PhantomData;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use super::leaf::{
    ByteSize, Command, Commands, Duration, EnvFiles, EnvMap, Globs, Groups, Name, Policy, Port,
    SignalName, Strings,
};

/// Either shape: `restart: on-failure` or `restart: {policy: …}`, the "string or map"
/// values the readers accept.
pub(crate) struct Or<A, B>(PhantomData<(A, B)>);

impl<A, B> Default for Or<A, B> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<A: JsonSchema, B: JsonSchema> JsonSchema for Or<A, B> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("{}_or_{}", A::schema_name(), B::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({ "anyOf": [generator.subschema_for::<A>(), generator.subschema_for::<B>()] })
    }
}

/// A map section that may also be left empty (`start:` with nothing under it).
pub(crate) struct Nullable<T>(PhantomData<T>);

impl<T> Default for Nullable<T> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<T: JsonSchema> JsonSchema for Nullable<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("Nullable_{}", T::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({ "anyOf": [generator.subschema_for::<T>(), { "type": "null" }] })
    }
}

/// A string that is not empty (`read::nonempty`).
#[derive(Default, JsonSchema)]
#[schemars(transparent)]
pub(crate) struct Text(#[schemars(length(min = 1))] String);

/// service.yml: one service, every key optional (an empty file is a Go service).
#[derive(Default, JsonSchema)]
#[schemars(default, deny_unknown_fields, title = "service.yml")]
pub(crate) struct ServiceFile {
    /// The service's name; default: its folder's name.
    name: Name,
    #[schemars(flatten)]
    settings: ServiceSettings,
    /// `true`: a run-once task; its dependants start only after it exited 0.
    task: Or<bool, TaskMap>,
}

/// The keys a service.yml shares with `defaults:` in orchestra.yml.
#[derive(Default, JsonSchema)]
#[schemars(default, deny_unknown_fields)]
pub(crate) struct ServiceSettings {
    /// Environment of this service.
    env: EnvMap,
    /// Dotenv file(s), relative to the file that names them.
    env_file: EnvFiles,
    /// Number of replicas.
    #[schemars(range(min = 0, max = 1000))]
    scale: u32,
    /// Replica n gets PORT=port+n.
    port: Port,
    /// Run once before the replicas start.
    build: Command,
    /// The command of each replica.
    run: Command,
    /// Unit tests.
    test: Command,
    /// Acceptance tests, run against the running fleet.
    acceptance: Command,
    /// Services or vendors started first and waited for until ready.
    depends_on: Strings,
    /// When a replica counts as ready.
    ready: Ready,
    /// When a replica that ended is started again.
    restart: Or<Policy, RestartMap>,
    /// First signal of a stop.
    stop_signal: SignalName,
    /// Grace before SIGKILL.
    stop_timeout: Duration,
    /// Files whose change triggers a rerun.
    watch: Globs,
    /// Excluded from `watch`.
    ignore: Globs,
    /// Reload on change even without `--rerun`.
    rerun: Or<bool, Nullable<RerunMap>>,
    /// The image for `--docker` mode.
    docker: Nullable<DockerMap>,
}

/// `task: {timeout: 30m}`.
#[derive(Default, JsonSchema)]
#[schemars(default, deny_unknown_fields)]
pub(crate) struct TaskMap {
    /// Bound on the task's run; default 10m.
    timeout: Duration,
}

/// `ready:` of a service: exactly one check.
#[derive(Default, JsonSchema)]
#[schemars(
    default,
    deny_unknown_fields,
    extend("oneOf" = [
        { "required": ["tcp"] }, { "required": ["http"] },
        { "required": ["exec"] }, { "required": ["log"] }
    ])
)]
pub(crate) struct Ready {
    /// Ready once the replica itself listens on this port.
    tcp: Port,
    /// Ready once this URL answers 2xx.
    http: Text,
    /// Ready once this command exits 0.
    exec: Command,
    /// Ready once a log line matches this regular expression.
    log: Text,
    /// Host of the tcp check; default 127.0.0.1.
    host: Text,
    /// Give up after this long; default 30s.
    timeout: Duration,
    /// Time between attempts; default 100ms.
    interval: Duration,
}

/// `restart:` as a map.
#[derive(Default, JsonSchema)]
#[schemars(default, deny_unknown_fields)]
pub(crate) struct RestartMap {
    policy: Policy,
    max_restarts: u32,
    backoff: Duration,
    backoff_max: Duration,
    reset_after: Duration,
}

/// `rerun:` as a map.
#[derive(Default, JsonSchema)]
#[schemars(default, deny_unknown_fields)]
pub(crate) struct RerunMap {
    enabled: bool,
    /// Run the tests before replacing the replicas.
    test: bool,
    debounce: Duration,
}

/// `docker:`.
#[derive(Default, JsonSchema)]
#[schemars(default, deny_unknown_fields)]
pub(crate) struct DockerMap {
    /// An image to run instead of one built from the binary.
    image: Nullable<Text>,
}

/// orchestra.yml: the project file.
#[derive(Default, JsonSchema)]
#[schemars(default, deny_unknown_fields, title = "orchestra.yml")]
pub(crate) struct ProjectFile {
    /// Project name (containers, networks, volumes); default: the folder's name.
    name: Name,
    /// Environment for every service, hook and test.
    env: EnvMap,
    /// Dotenv file(s), relative to orchestra.yml.
    env_file: EnvFiles,
    /// Hooks run before every command.
    before: Commands,
    /// Hooks run after every command.
    after: Commands,
    /// Folders that may hold services; default `["*"]`.
    services: Globs,
    /// Named sets of services: `groups: {backend: [users, orders]}`, then `start @backend`.
    groups: Groups,
    /// A default for any service.yml key.
    defaults: Nullable<ServiceSettings>,
    /// Third-party containers, and the section of `orchestra vendors`.
    vendors: Nullable<Vendors>,
    /// Log rotation, and the section of `orchestra logs`.
    logs: Nullable<LogsSection>,
    /// The project's acceptance test.
    acceptance: Command,
    /// Env and hooks of `orchestra start`.
    start: Nullable<Section>,
    /// Env and hooks of `orchestra stop`.
    stop: Nullable<Section>,
    /// Env and hooks of `orchestra restart`.
    restart: Nullable<Section>,
    /// Env and hooks of `orchestra ps`.
    ps: Nullable<Section>,
    /// Env and hooks of `orchestra test`.
    test: Nullable<Section>,
    /// Env and hooks of `orchestra export`.
    export: Nullable<Section>,
}

/// Extra env and hooks for one command.
#[derive(Default, JsonSchema)]
#[schemars(default, deny_unknown_fields)]
pub(crate) struct Section {
    env: EnvMap,
    before: Commands,
    after: Commands,
}

/// `logs:`: the section of `orchestra logs` and log rotation.
#[derive(Default, JsonSchema)]
#[schemars(default, deny_unknown_fields)]
pub(crate) struct LogsSection {
    env: EnvMap,
    before: Commands,
    after: Commands,
    /// Rotate a replica's log past this size; default 100MiB.
    max_size: ByteSize,
    /// Old log files kept; default 5.
    #[schemars(range(min = 0, max = 1000))]
    keep: u32,
}

/// `vendors:`: `env`, `before` and `after` are the section of `orchestra vendors`, every
/// other key a vendor.
#[derive(Default)]
pub(crate) struct Vendors;

impl JsonSchema for Vendors {
    fn schema_name() -> Cow<'static, str> {
        "Vendors".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "properties": {
                "env": generator.subschema_for::<EnvMap>(),
                "before": generator.subschema_for::<Commands>(),
                "after": generator.subschema_for::<Commands>(),
            },
            "propertyNames": { "pattern": super::leaf::NAME_PATTERN },
            "additionalProperties": generator.subschema_for::<Vendor>(),
        })
    }
}

/// One vendor: a container.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct Vendor {
    /// The image to run, e.g. `postgres:16`.
    image: Text,
    #[schemars(default)]
    command: Command,
    #[schemars(default)]
    entrypoint: Command,
    /// Published ports: `5432`, `15432:5432`, `127.0.0.1:5432:5432`, `5432/tcp`, or the
    /// long form `{target, published, host_ip, protocol}`.
    #[schemars(default)]
    ports: VendorPorts,
    #[schemars(default)]
    env: EnvMap,
    #[schemars(default)]
    env_file: EnvFiles,
    /// `NAME:/path`, `./dir:/path`, `/abs/dir:/path:ro`.
    #[schemars(default)]
    volumes: Strings,
    #[schemars(default)]
    ready: VendorReady,
    #[schemars(default)]
    restart: Policy,
    #[schemars(default)]
    stop_timeout: Duration,
}

/// A vendor's `ports:`: one entry or a list.
#[derive(Default)]
pub(crate) struct VendorPorts;

impl JsonSchema for VendorPorts {
    fn schema_name() -> Cow<'static, str> {
        "VendorPorts".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let one = generator.subschema_for::<VendorPort>();
        json_schema!({
            "anyOf": [{ "type": "null" }, one, { "type": "array", "items": one }]
        })
    }
}

/// One entry of a vendor's `ports:`.
#[derive(Default)]
pub(crate) struct VendorPort;

impl JsonSchema for VendorPort {
    fn schema_name() -> Cow<'static, str> {
        "VendorPort".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                { "type": "integer", "minimum": 1, "maximum": 65535 },
                { "type": "string", "minLength": 1 },
                generator.subschema_for::<LongPort>(),
            ]
        })
    }
}

/// The long form of a published port, as Docker Compose writes it.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct LongPort {
    /// The port inside the container.
    target: Port,
    /// The port on the host; default: the same as `target`.
    #[schemars(default)]
    published: Port,
    /// Only 127.0.0.1 (or `localhost`): vendors are published on the loopback address.
    #[schemars(default)]
    host_ip: Text,
    /// Only `tcp`.
    #[schemars(default)]
    protocol: Text,
    /// Only `host`, or left out.
    #[schemars(default)]
    mode: Text,
}

/// `ready:` of a vendor: exactly one check.
#[derive(Default, JsonSchema)]
#[schemars(
    default,
    deny_unknown_fields,
    extend("oneOf" = [
        { "required": ["tcp"] }, { "required": ["http"] },
        { "required": ["exec"] }, { "required": ["healthcheck"] }
    ])
)]
pub(crate) struct VendorReady {
    #[schemars(range(min = 1, max = 65535))]
    tcp: u16,
    http: Text,
    exec: Command,
    /// Ready when the image's own HEALTHCHECK says so.
    healthcheck: bool,
    timeout: Duration,
}

/// The map form of an `env_file` entry.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct EnvFileEntry {
    /// The file, relative to the file that names it.
    path: Text,
    /// `false`: a missing file is skipped instead of being an error.
    #[schemars(default)]
    required: bool,
}
