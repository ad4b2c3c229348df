//! `oxvs`: the daemon and its command-line tools.

fn main() {
    println!("oxvs");
}
