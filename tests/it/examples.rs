//! Every example runs, so the documentation cannot drift from the code.

#[path = "../../examples/quickstart.rs"]
mod quickstart;

#[path = "../../examples/istanbul_2025.rs"]
mod istanbul_2025;

#[path = "../../examples/time_travel.rs"]
mod time_travel;

// The benchmarks, run at their smallest sizes: this proves that they run and that their own
// checks hold (each asserts that what it measured is right), not their figures. Their `main`
// reads the command line, so the test calls `run` with arguments instead.
#[allow(dead_code, clippy::duplicate_mod)] // both include `benches/workload`
#[path = "../../examples/bench_large.rs"]
mod bench_large;

#[allow(dead_code)]
#[path = "../../examples/sled_floor.rs"]
mod sled_floor;

#[allow(dead_code, clippy::duplicate_mod)] // both include `benches/workload`
#[path = "../../examples/first_as_of.rs"]
mod first_as_of;

#[allow(dead_code, clippy::duplicate_mod)] // both include `benches/workload`
#[path = "../../examples/state_sharing.rs"]
mod state_sharing;

#[allow(dead_code)]
#[path = "../../examples/store_throughput.rs"]
mod store_throughput;

// `custom_projection` is run by `tests/it/kit.rs`, which uses its projection too.

fn args(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

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
fn first_as_of_runs_at_its_smallest_and_again_on_its_store() {
    let dir = tempfile::tempdir().unwrap();
    let options = format!(
        "--events 3000 --reps 1 --store {}",
        dir.path().join("hot").display()
    );
    first_as_of::run(args(&options)).unwrap();
    // The second run reuses the store.
    first_as_of::run(args(&options)).unwrap();
}

#[test]
fn bench_large_runs_at_its_smallest() {
    let dir = tempfile::tempdir().unwrap();
    let options = format!(
        "--events 2000 --dyads 10 --hot 300 --sweep 300 --reps 1 --import-reps 1 --singles 5 --replay in-process --dir {}",
        dir.path().display()
    );
    bench_large::run(args(&options)).unwrap();
}

/// The same, with the section "PostgreSQL" on the test binary's server (writers as threads,
/// since the test cannot start the example as a child).
#[test]
fn bench_large_runs_with_postgres_at_its_smallest() {
    if crate::postgres_server::server().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let options = format!(
        "--events 1000 --dyads 10 --hot 200 --sweep 200 --reps 1 --import-reps 1 --singles 5 --replay in-process --postgres auto --pg-writer-events 5 --dir {}",
        dir.path().display()
    );
    bench_large::run(args(&options)).unwrap();
}

#[test]
fn sled_floor_runs_at_its_smallest() {
    let dir = tempfile::tempdir().unwrap();
    let options = format!(
        "--records 1000 --samples 3 --dir {}",
        dir.path().join("floor").display()
    );
    sled_floor::run(args(&options)).unwrap();
}

#[test]
fn state_sharing_runs_at_its_smallest() {
    state_sharing::run(args("--events 2000 --every 256 --reps 1")).unwrap();
}

#[test]
fn store_throughput_runs_at_its_smallest() {
    let dir = tempfile::tempdir().unwrap();
    let options = format!("{} --batches 1 --singles 3", dir.path().display());
    store_throughput::run(args(&options)).unwrap();
}

#[test]
fn the_chronologies_pass_their_checker() {
    // `examples/chronologies/check.py`, through python3 where it is installed.
    let checker = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/chronologies/check.py"
    );
    let Ok(output) = std::process::Command::new("python3").arg(checker).output() else {
        println!("skipped: python3 is not installed, so examples/chronologies/check.py is not run");
        return;
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.trim_end().ends_with("ok"), "{stdout}");
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
