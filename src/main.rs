fn main() {
    println!("detente");
}
