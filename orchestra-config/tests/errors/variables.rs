//! Variables that are not set, and bytes (NUL) no process can take.

use crate::common::Fixture;

// Variables that are not set, and bytes no process can take.
bad!(
    unset_variable_in_env,
    [(
        "users/service.yml",
        "run: ./users\nenv:\n  PASSWORD: \"pa$word1\"\n"
    )]
);
bad!(
    unset_variable_in_braces,
    [(
        "orchestra.yml",
        "env:\n  URL: \"http://${API_HOST}:8080\"\n"
    )]
);
bad!(
    unset_variable_in_env_file,
    [
        ("orchestra.yml", "env_file: .env\n"),
        (".env", "GOOD=1\nURL=\"http://$API_HOST:8080\"\n")
    ]
);
bad!(
    unset_variable_in_port,
    [("users/service.yml", "run: ./users\nport: $USERS_PORT\n")]
);
bad!(
    unset_variable_in_probe,
    [(
        "users/service.yml",
        "run: ./users\nport: 8080\nready: { http: \"http://$API_HOST:$PORT/health\" }\n"
    )]
);
bad!(
    port_variable_in_probe_without_a_port,
    [("users/service.yml", "run: ./users\nready: { tcp: $PORT }\n")]
);
bad!(
    unset_variable_in_vendor_ports,
    [(
        "orchestra.yml",
        "vendors:\n  redis:\n    image: redis:7\n    ports: [\"$REDIS_PORT:6379\"]\n"
    )]
);
bad!(
    nul_byte_in_env,
    [(
        "users/service.yml",
        "run: ./users\nenv:\n  TOKEN: \"ab\\0cd\"\n"
    )]
);
bad!(
    nul_byte_in_command,
    [("users/service.yml", "run: [\"./users\", \"--x\\x00\"]\n")]
);

#[test]
fn nul_byte_in_env_file() {
    let f = Fixture::new(&[
        ("orchestra.yml", "env_file: .env\n"),
        (".env", "TOKEN=\"ab\0cd\"\n"),
    ]);
    // Shown as a visible character: the snapshot stays text.
    insta::assert_snapshot!(f.error().replace('\0', "␀"));
}
