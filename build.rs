//! Rebuilds the library when a file is added to or removed from the
//! folders it embeds (`include_dir!` alone notices only edits to files it
//! already embedded).

fn main() {
    println!("cargo:rerun-if-changed=features");
    println!("cargo:rerun-if-changed=snapshots");
}
