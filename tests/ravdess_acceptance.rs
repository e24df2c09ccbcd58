//! Acceptance over the real RAVDESS speech subset (actors 01-20, 1200 files), when unpacked at
//! `data/ravdess` or `$RAVDESS_DIR`. Skips loudly when absent; fails instead when
//! `SER_REQUIRE_DATA=1` (as CI sets it), so a missing corpus cannot pass silently there.

mod common;

use std::path::PathBuf;

use common::Workspace;
use ser_pipeline::data::parquet;
use ser_pipeline::features::FeatureParams;

pub fn ravdess_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("RAVDESS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/ravdess"));
    if dir.join("Actor_01").is_dir() {
        return Some(dir);
    }
    let message = format!(
        "RAVDESS not found at {} (set RAVDESS_DIR, or run ../shared/data/unpack-ravdess.sh data/ravdess)",
        dir.display()
    );
    if std::env::var("SER_REQUIRE_DATA").as_deref() == Ok("1") {
        panic!("{message}, and SER_REQUIRE_DATA=1");
    }
    eprintln!("\n*** SKIPPED: {message} ***\n");
    None
}

#[test]
fn extract_over_the_real_subset() {
    let Some(root) = ravdess_dir() else { return };
    let ws = Workspace::new("");
    let out = ws
        .cmd(&["run", "--stage", "extract", "--data-root"])
        .arg(&root)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let df = parquet::read(&ws.out("features.parquet")).unwrap();
    assert_eq!(df.height(), 1200);
    let distinct = |col: &str| df.column(col).unwrap().n_unique().unwrap();
    assert_eq!(distinct("emotion"), 8);
    assert_eq!(distinct("actor"), 20);
    assert_eq!(distinct("gender"), 2);
    assert_eq!(distinct("sample_rate"), 1);
    for name in FeatureParams::default().feature_names() {
        let col = df.column(&name).unwrap().f64().unwrap();
        assert_eq!(col.null_count(), 0, "{name}");
        assert!(col.iter().all(|v| v.unwrap().is_finite()), "{name}");
    }
    // Per actor: 4 neutral files and 8 of every other emotion (the corpus as published).
    let manifest = parquet::read(&ws.out("manifest.parquet")).unwrap();
    assert_eq!(manifest.height(), 1200);
    let neutral = df
        .column("emotion")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .filter(|e| *e == Some("neutral"))
        .count();
    assert_eq!(neutral, 4 * 20);
}
