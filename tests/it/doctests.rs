//! Every public function and method of the library has a doctest that runs: an `# Example`
//! with a code block in its doc comment, so that the reference cannot drift from the code.
//!
//! The check reads the sources: a `pub fn` (or `pub const fn`) in a file of the public API,
//! outside its `#[cfg(test)]` module and not `#[doc(hidden)]`, must have a fenced block in the
//! doc comment above it. Every file of `src/` is named below as public or not, so that a new
//! file is a decision, not an oversight.

use std::path::Path;

/// The files whose `pub fn`s are the library's public API.
const PUBLIC: &[&str] = &[
    "domain/check.rs",
    "domain/diff.rs",
    "domain/envelope.rs",
    "domain/event.rs",
    "domain/id.rs",
    "domain/limits.rs",
    "domain/party.rs",
    "domain/registry.rs",
    "domain/projection.rs",
    "domain/query.rs",
    "domain/shared.rs",
    "domain/state.rs",
    "domain/upcast.rs",
    "engine/mod.rs",
    "engine/import.rs",
    "engine/record.rs",
    "engine/subscribe.rs",
    "engine/verify.rs",
    "scenario.rs",
    "store/any.rs",
    "store/backend.rs",
    "store/location.rs",
    "store/memory.rs",
    "store/mod.rs",
    "store/postgres/mod.rs",
    "store/sled_backend/mod.rs",
    "testing/laws.rs",
    "testing/mod.rs",
    "testing/strategies.rs",
    "testing/traps.rs",
];

/// The files that are not: the program, module roots that only re-export, private modules.
const NOT_PUBLIC: &[&str] = &[
    "cli/",
    "main.rs",
    "lib.rs",
    "domain/mod.rs",
    "domain/canonical.rs",
    "engine/binary.rs",
    "engine/keys.rs",
    "engine/ladder.rs",
    "engine/maintain.rs",
    "engine/query.rs",
    "engine/sync.rs",
    "store/postgres/sql.rs",
    "store/sled_backend/aux.rs",
    "store/sled_backend/codec.rs",
    "store/sled_backend/migrate.rs",
    "testing/quiet.rs",
];

fn rust_files(dir: &Path, out: &mut Vec<String>, root: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out, root);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let relative = path.strip_prefix(root).unwrap();
            out.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// The public functions of `source` without a doctest, as `line:name`.
fn without_doctest(source: &str) -> Vec<String> {
    let lines: Vec<&str> = source
        .lines()
        .take_while(|line| !line.starts_with("#[cfg(test)]"))
        .collect();
    let mut missing = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let Some(rest) = trimmed
            .strip_prefix("pub fn ")
            .or_else(|| trimmed.strip_prefix("pub const fn "))
        else {
            continue;
        };
        let above = lines[..index]
            .iter()
            .rev()
            .take_while(|line| {
                let line = line.trim_start();
                line.starts_with("///") || line.starts_with("#[") || line.starts_with("//")
            })
            .collect::<Vec<_>>();
        if above.iter().any(|line| line.contains("doc(hidden)")) {
            continue;
        }
        let has_block = above
            .iter()
            .any(|line| line.trim_start().starts_with("///") && line.contains("```"));
        if !has_block {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            missing.push(format!("{}:{name}", index + 1));
        }
    }
    missing
}

#[test]
fn every_source_file_is_named_public_or_not() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files, &root);
    files.sort();
    let unnamed: Vec<&String> = files
        .iter()
        .filter(|file| {
            !PUBLIC.contains(&file.as_str())
                && !NOT_PUBLIC.iter().any(|named| {
                    file.as_str() == *named || (named.ends_with('/') && file.starts_with(named))
                })
        })
        .collect();
    assert!(
        unnamed.is_empty(),
        "name these files in tests/it/doctests.rs, as PUBLIC or NOT_PUBLIC: {unnamed:?}"
    );
}

#[test]
fn every_public_function_has_a_doctest() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut missing = Vec::new();
    let mut n_functions = 0;
    for file in PUBLIC {
        let source = std::fs::read_to_string(root.join(file)).unwrap();
        n_functions += source
            .lines()
            .take_while(|line| !line.starts_with("#[cfg(test)]"))
            .filter(|line| line.trim_start().starts_with("pub fn "))
            .count();
        missing.extend(
            without_doctest(&source)
                .into_iter()
                .map(|place| format!("src/{file}:{place}")),
        );
    }
    assert!(
        n_functions > 100,
        "the check found only {n_functions} functions"
    );
    assert!(
        missing.is_empty(),
        "public functions without an `# Example` doctest:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_check_sees_a_function_without_a_doctest() {
    let source = "/// Documented.\n///\n/// ```\n/// assert!(true);\n/// ```\npub fn shown() {}\n\n/// Not shown.\n#[must_use]\npub fn bare() -> u8 { 1 }\n\n/// Hidden.\n#[doc(hidden)]\npub fn hidden() {}\n";
    assert_eq!(without_doctest(source), vec!["10:bare".to_owned()]);
}

/// The docs and the code cite only what the repository holds: the contract is
/// `docs/contract.md`, not a design file kept outside the repository.
#[test]
fn nothing_cites_a_design_file_outside_the_repository() {
    fn walk(path: &std::path::Path, found: &mut Vec<String>) {
        let needle = concat!("DES", "IGN");
        if path.is_dir() {
            for entry in std::fs::read_dir(path).unwrap() {
                walk(&entry.unwrap().path(), found);
            }
        } else if let Ok(text) = std::fs::read_to_string(path) {
            for (number, line) in text.lines().enumerate() {
                if line.contains(needle) {
                    found.push(format!("{}:{}: {line}", path.display(), number + 1));
                }
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for part in [
        "src",
        "docs",
        "tests",
        "examples",
        "benches",
        "README.md",
        "CHANGELOG.md",
    ] {
        walk(&root.join(part), &mut found);
    }
    assert!(
        found.is_empty(),
        "cite docs/contract.md instead:\n{}",
        found.join("\n")
    );
}
