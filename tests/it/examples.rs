//! Every example runs, so the documentation cannot drift from the code.

#[path = "../../examples/quickstart.rs"]
mod quickstart;

#[path = "../../examples/istanbul_2025.rs"]
mod istanbul_2025;

#[path = "../../examples/time_travel.rs"]
mod time_travel;

#[test]
fn quickstart_runs() {
    quickstart::main().unwrap();
}

#[test]
fn istanbul_2025_runs() {
    istanbul_2025::main().unwrap();
}

#[test]
fn time_travel_runs() {
    time_travel::main().unwrap();
}

#[test]
fn the_readme_shows_the_quickstart_example_verbatim() {
    let readme = include_str!("../../README.md");
    let example = include_str!("../../examples/quickstart.rs");
    let start = readme
        .find("```rust\n")
        .expect("the README has a Rust block")
        + "```rust\n".len();
    let end = start + readme[start..].find("```").expect("the block is closed");
    assert_eq!(readme[start..end].trim_end(), example.trim_end());
}
