//! Writes `assets/demo.tar`, the image `pydive demo` opens, from its declaration in
//! `src/demo.rs`. Run it with `cargo run --example build_demo` after changing that file.

use std::path::Path;

use pydive::fixture::Layout;

fn main() -> std::io::Result<()> {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo.tar");
    pydive::demo::image().write_docker_archive(&out, Layout::DockerOci)?;
    println!(
        "wrote {} ({} bytes)",
        out.display(),
        std::fs::metadata(&out)?.len()
    );
    Ok(())
}
