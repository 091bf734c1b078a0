//! What cannot go beside `task: true`.

// Tasks: what cannot go beside `task: true`.
bad!(
    task_beside_scale_and_port,
    [(
        "migrate/service.yml",
        "task: true\nrun: ./migrate\nscale: 2\nport: 8080\n"
    )]
);
bad!(
    task_beside_ready_and_restart,
    [(
        "migrate/service.yml",
        "task: true\nrun: ./migrate\nready: { tcp: 5432 }\nrestart: always\n"
    )]
);
bad!(
    task_as_a_default,
    [
        ("orchestra.yml", "defaults:\n  task: true\n"),
        ("migrate/service.yml", "run: ./migrate\n")
    ]
);
bad!(
    task_of_wrong_type,
    [("migrate/service.yml", "task: yes please\nrun: ./migrate\n")]
);
