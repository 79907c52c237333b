//! The image cannot be built here (no Docker engine), so this reads the
//! Dockerfile and checks that every path of contract §1 is installed from a
//! source that exists in the repository, and that the entry point is right.

use std::path::Path;

fn dockerfile() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Dockerfile"))
        .expect("Dockerfile")
}

/// The instructions, continuation lines joined, comments dropped.
fn instructions() -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in dockerfile().lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
        } else {
            current.push_str(trimmed);
            if !current.trim().is_empty() {
                out.push(current.trim().to_owned());
            }
            current.clear();
        }
    }
    out
}

#[test]
fn stages_and_entry_point() {
    let all = instructions();
    let froms: Vec<&String> = all.iter().filter(|i| i.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "{froms:?}");
    assert!(froms[0].contains("rust") && froms[0].ends_with(" AS builder"));
    assert!(froms[1].starts_with("FROM debian:bookworm-slim"));
    assert!(all.contains(&"EXPOSE 80".to_owned()));
    assert_eq!(
        all.last().map(String::as_str),
        Some(r#"ENTRYPOINT ["/usr/local/bin/switchyard", "serve"]"#)
    );
    assert!(
        !all.iter()
            .any(|i| i.starts_with("ENV ") && i.contains("SWITCHYARD_")),
        "the image sets no overrides"
    );
    assert!(
        all.iter()
            .any(|i| i.starts_with("RUN cargo build --release"))
    );
}

#[test]
fn every_contract_path_comes_from_an_existing_source() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let all = instructions();
    let copies: Vec<Vec<&str>> = all
        .iter()
        .filter(|i| i.starts_with("COPY "))
        .map(|i| i.split_whitespace().skip(1).collect())
        .collect();
    // The binary comes from the builder's release build.
    assert!(copies.iter().any(|c| c
        == &[
            "--from=builder",
            "/src/target/release/switchyard",
            "/usr/local/bin/switchyard"
        ]));
    // Each script is copied from opt/section/ in the repo, exists and is executable.
    let script_copy = copies
        .iter()
        .find(|c| c.last() == Some(&"/opt/section/"))
        .expect("a COPY into /opt/section/");
    for script in [
        "validate.sh",
        "update.sh",
        "logrotate.sh",
        "messagehandler.sh",
    ] {
        let source = format!("opt/section/{script}");
        assert!(
            script_copy.contains(&source.as_str()),
            "{script} not installed"
        );
        let path = root.join(&source);
        let text = std::fs::read_to_string(&path).expect("script exists");
        assert!(text.starts_with("#!/bin/sh\n"), "{script}");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "{script} is not executable");
    }
    // The builder copies the repository; its sources exist.
    assert!(copies.iter().any(|c| c == &[".", "."]));
    for needed in ["Cargo.toml", "Cargo.lock", "src/main.rs"] {
        assert!(root.join(needed).exists(), "{needed}");
    }
    let ignore = std::fs::read_to_string(root.join(".dockerignore")).expect(".dockerignore");
    for line in ignore.lines() {
        assert!(
            !["src", "src/", "Cargo.toml", "Cargo.lock", "opt", "opt/"].contains(&line.trim()),
            "{line}"
        );
    }
    // The directories of contract §1 exist in the image.
    let mkdir = all.iter().find(|i| i.contains("mkdir -p")).expect("mkdir");
    for dir in [
        "/opt/proxy_config",
        "/var/log/switchyard",
        "/run/switchyard",
    ] {
        assert!(mkdir.contains(dir), "{dir}");
    }
}

#[test]
fn scripts_call_the_binary_as_the_contract_says() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("opt/section");
    let last = |name: &str| {
        std::fs::read_to_string(root.join(name))
            .expect("script")
            .lines()
            .last()
            .expect("line")
            .to_owned()
    };
    assert_eq!(
        last("validate.sh"),
        "exec /usr/local/bin/switchyard validate /opt/proxy_config"
    );
    assert_eq!(last("update.sh"), "exec /usr/local/bin/switchyard reload");
    assert_eq!(
        last("logrotate.sh"),
        "exec /usr/local/bin/switchyard rotate-logs"
    );
    assert_eq!(
        last("messagehandler.sh"),
        r#"exec /usr/local/bin/switchyard message "$1" "$2""#
    );
}
