//! Reads the app's config from the workspace root (`../tauri.conf.json`), where the
//! Tauri CLI and people look for it, instead of next to this crate.

fn main() {
    let attributes = tauri_build::Attributes::new().config_path("../tauri.conf.json");
    if let Err(error) = tauri_build::try_build(attributes) {
        panic!("tauri build step failed: {error:#}");
    }
}
