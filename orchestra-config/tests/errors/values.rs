//! Values of the wrong type or out of range: numbers, durations, signals, policies,
//! environments, globs, regexes and readiness probes.

// Types and values.
bad!(
    wrong_type_scale,
    [("users/service.yml", "run: ./users\nscale: many\n")]
);
bad!(
    negative_scale,
    [("users/service.yml", "run: ./users\nscale: -1\n")]
);
bad!(
    scale_over_the_replica_limit,
    [("users/service.yml", "run: ./users\nscale: 100000000\n")]
);
bad!(
    port_out_of_range,
    [("users/service.yml", "run: ./users\nport: 70000\n")]
);
bad!(
    port_not_a_number,
    [("users/service.yml", "run: ./users\nport: \"http\"\n")]
);
bad!(
    port_variable_not_a_number,
    [
        ("orchestra.yml", "env:\n  USERS_PORT: eighty\n"),
        ("users/service.yml", "run: ./users\nport: $USERS_PORT\n")
    ]
);
bad!(
    bad_duration,
    [("users/service.yml", "run: ./users\nstop_timeout: 10x\n")]
);
bad!(
    duration_without_unit,
    [("users/service.yml", "run: ./users\nstop_timeout: 10\n")]
);
bad!(
    bad_signal,
    [("users/service.yml", "run: ./users\nstop_signal: SIGTREM\n")]
);
bad!(
    bad_restart_policy,
    [("users/service.yml", "run: ./users\nrestart: sometimes\n")]
);
bad!(
    command_of_wrong_type,
    [("users/service.yml", "run: { cmd: ./users }\n")]
);
bad!(env_not_a_map, [("orchestra.yml", "env: [A=1]\n")]);
bad!(
    env_bad_variable_name,
    [("orchestra.yml", "env:\n  MY-VAR: 1\n")]
);
bad!(
    env_bad_substitution,
    [("orchestra.yml", "env:\n  URL: \"http://${HOST:8080\"\n")]
);
bad!(
    rerun_wrong_type,
    [("users/service.yml", "run: ./users\nrerun: often\n")]
);
bad!(
    logs_bad_size,
    [("orchestra.yml", "logs:\n  max_size: lots\n")]
);

// Globs, regexes, probes.
bad!(
    bad_watch_glob,
    [("users/service.yml", "run: ./users\nwatch: [\"src/[abc\"]\n")]
);
bad!(
    bad_services_glob,
    [("orchestra.yml", "services: [\"{a,b\"]\n")]
);
bad!(
    bad_log_regex,
    [(
        "users/service.yml",
        "run: ./users\nready:\n  log: \"listening (on\"\n"
    )]
);
bad!(
    ready_with_two_checks,
    [(
        "users/service.yml",
        "run: ./users\nready: { tcp: 8080, http: \"http://localhost:8080\" }\n"
    )]
);
bad!(
    ready_as_a_string,
    [("users/service.yml", "run: ./users\nready: tcp\n")]
);
