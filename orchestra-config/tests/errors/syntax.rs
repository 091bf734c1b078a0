//! YAML that does not parse or has the wrong shape, and keys that do not exist.

use crate::common::Fixture;

// Syntax and shape.
bad!(
    yaml_syntax,
    [("users/service.yml", "run: ./users\nport: [8080\nscale: 1\n")]
);
bad!(
    tab_indentation,
    [("orchestra.yml", "env:\n\tLOG_LEVEL: debug\n")]
);
bad!(
    service_file_is_a_list,
    [("users/service.yml", "- run: ./users\n- port: 8080\n")]
);
bad!(
    service_file_is_a_scalar,
    [("users/service.yml", "just some words\n")]
);
bad!(
    duplicate_key,
    [(
        "users/service.yml",
        "port: 8080\nrun: ./users\nport: 8081\n"
    )]
);
bad!(
    duplicate_nested_key,
    [(
        "orchestra.yml",
        "env:\n  LOG_LEVEL: debug\n  LOG_LEVEL: info\n"
    )]
);
bad!(yaml_tag, [("users/service.yml", "run: !shell ./users\n")]);

#[test]
fn flow_nesting_past_the_limit() {
    // A million `[` just under the size limit: the scanner is quadratic in this depth, so
    // the depth is refused before it runs (this test would otherwise take hours).
    let f = Fixture::new(&[]);
    let brackets = "[".repeat(1_000_000);
    f.write(
        "users/service.yml",
        format!("run: ./users\nenv: {brackets}\n"),
    );
    insta::assert_snapshot!(f.error());
}

// Keys.
bad!(
    unknown_service_key,
    [(
        "users/service.yml",
        "port: 8080\ndepend_on: [postgres]\nrun: ./users\n"
    )]
);
bad!(
    unknown_project_key,
    [("orchestra.yml", "servics: [\"*\"]\n")]
);
bad!(
    unknown_vendor_key,
    [(
        "orchestra.yml",
        "vendors:\n  postgres:\n    image: postgres:16\n    prots: [\"5432:5432\"]\n"
    )]
);
bad!(
    unknown_key_without_suggestion,
    [("users/service.yml", "run: ./users\nbanana: 3\n")]
);
bad!(
    unknown_ready_key,
    [(
        "users/service.yml",
        "run: ./users\nready: { tcp: 8080, timout: 5s }\n"
    )]
);
