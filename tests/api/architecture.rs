//! The layer rule, checked on the sources: `domain` imports nothing else of the crate;
//! `store`, `ephemeral`, `crypto`, `notify` import only `domain`; `service` imports those; `http`
//! and `cli` sit on top; nothing below `http` imports `http` or `app`.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules of the crate that `file` names with `crate::…` or `super::…`
/// reaching out of its layer.
fn crate_imports(file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let mut found = Vec::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() && !found.contains(&name) {
            found.push(name);
        }
    }
    found
}

#[test]
fn each_layer_imports_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let allowed: &[(&str, &[&str])] = &[
        ("domain", &["domain"]),
        ("store", &["domain", "store"]),
        ("ephemeral", &["domain", "ephemeral"]),
        ("crypto", &["domain", "crypto"]),
        ("notify", &["domain", "notify"]),
        // The mail outbox is `notify`'s outbox directory.
        ("mail", &["domain", "notify", "mail"]),
        (
            "service",
            &[
                "domain",
                "store",
                "ephemeral",
                "crypto",
                "notify",
                "mail",
                "service",
            ],
        ),
        (
            "http",
            &[
                "domain",
                "store",
                "ephemeral",
                "crypto",
                "notify",
                "mail",
                "service",
                "http",
            ],
        ),
    ];
    let mut violations = Vec::new();
    for (layer, may) in allowed {
        let mut files = Vec::new();
        rust_files(&src.join(layer), &mut files);
        assert!(!files.is_empty(), "no sources under src/{layer}");
        for f in files {
            for module in crate_imports(&f) {
                if !may.contains(&module.as_str()) {
                    violations.push(format!(
                        "{} imports crate::{module}",
                        f.strip_prefix(&src).unwrap().display()
                    ));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "layer rule broken:\n{}",
        violations.join("\n")
    );
}

#[test]
fn handlers_reach_the_stores_only_through_services() {
    // No SQL, no short-lived store call, no password or token crypto in `http/`.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut found = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for needle in [
            ".db.",
            ".ephemeral.",
            "crate::store",
            "crate::ephemeral",
            "verify_digest",
            "hasher.",
        ] {
            if text.contains(needle) {
                found.push(format!("{} uses {needle}", f.display()));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}
