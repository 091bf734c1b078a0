//! What ties the fleet together: names, dependencies, ports, and the vendors' settings.

// Names.
bad!(
    invalid_service_name,
    [("users/service.yml", "name: my service\nrun: ./users\n")]
);
bad!(
    invalid_folder_name,
    [("my.users/service.yml", "run: ./users\n")]
);
bad!(
    duplicate_service_names,
    [
        ("users/service.yml", "run: ./users\n"),
        ("accounts/service.yml", "name: users\nrun: ./accounts\n")
    ]
);
bad!(
    service_and_vendor_share_a_name,
    [
        ("orchestra.yml", "vendors:\n  users:\n    image: users:1\n"),
        ("users/service.yml", "run: ./users\n")
    ]
);
bad!(
    defaults_with_name,
    [("orchestra.yml", "defaults:\n  name: x\n")]
);

// Dependencies.
bad!(
    unknown_dependency,
    [
        (
            "orchestra.yml",
            "vendors:\n  postgres:\n    image: postgres:16\n"
        ),
        (
            "users/service.yml",
            "run: ./users\ndepends_on: [postgress]\n"
        ),
    ]
);
bad!(
    unknown_dependency_without_suggestion,
    [(
        "users/service.yml",
        "run: ./users\ndepends_on:\n  - kafka\n"
    )]
);
bad!(
    dependency_cycle,
    [
        ("api/service.yml", "run: ./api\ndepends_on: [users]\n"),
        ("orders/service.yml", "run: ./orders\ndepends_on: [api]\n"),
        ("users/service.yml", "run: ./users\ndepends_on: [orders]\n"),
    ]
);
bad!(
    self_dependency,
    [("users/service.yml", "run: ./users\ndepends_on: [users]\n")]
);

// Ports.
bad!(
    port_claimed_twice,
    [
        ("orders/service.yml", "run: ./orders\nport: 8081\n"),
        ("users/service.yml", "run: ./users\nport: 8080\nscale: 2\n"),
    ]
);
bad!(
    vendor_and_service_port_clash,
    [
        (
            "orchestra.yml",
            "vendors:\n  postgres:\n    image: postgres:16\n    ports: [\"5432:5432\"]\n"
        ),
        ("users/service.yml", "run: ./users\nport: 5432\n"),
    ]
);
bad!(
    ports_beyond_65535,
    [("users/service.yml", "run: ./users\nport: 65535\nscale: 3\n")]
);

// Vendors.
bad!(
    vendor_without_image,
    [(
        "orchestra.yml",
        "vendors:\n  postgres:\n    ports: [\"5432\"]\n"
    )]
);
bad!(
    vendor_bad_port_mapping,
    [(
        "orchestra.yml",
        "vendors:\n  redis:\n    image: redis:7\n    ports: [\"6379:abc\"]\n"
    )]
);
bad!(
    vendor_port_on_every_address,
    [(
        "orchestra.yml",
        "vendors:\n  db:\n    image: postgres:16\n    ports: [\"0.0.0.0:5432:5432\", \"53/udp\"]\n"
    )]
);
bad!(
    vendor_long_port_without_target,
    [(
        "orchestra.yml",
        "vendors:\n  db:\n    image: postgres:16\n    ports:\n      - { published: 5432, protocl: tcp }\n"
    )]
);
bad!(
    vendor_bad_volume,
    [(
        "orchestra.yml",
        "vendors:\n  postgres:\n    image: postgres:16\n    volumes: [\"pgdata:var/lib/postgresql\"]\n"
    )]
);
