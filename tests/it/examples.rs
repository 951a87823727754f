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
