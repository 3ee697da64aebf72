//! Build script: the embedded migrations (`embed_migrations!` in `db/mod.rs`) read every
//! file of `migrations/` at compile time, but cargo tracks only the files the macro
//! included: a new migration's folder alone did not rebuild the crate, and a binary built
//! after adding one ran without it.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
