//! The tables open where users open them: pandas (`pd.read_parquet`) and DuckDB
//! (`SELECT ... FROM 'features.parquet'`). Needs a Python with pandas, pyarrow and duckdb
//! (`$SER_PYTHON`, default `python3`; CI installs `tools/requirements-check.txt` into a venv).
//! Skips loudly without them; fails instead when `SER_REQUIRE_PYTHON=1`.

mod common;

use std::process::Command;

use common::{make_corpus, Workspace};
use ser_pipeline::features::FeatureParams;

fn python() -> Option<String> {
    let python = std::env::var("SER_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let ok = Command::new(&python)
        .args(["-c", "import pandas, pyarrow, duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(python);
    }
    let message = format!(
        "{python} lacks pandas/pyarrow/duckdb (pip install -r tools/requirements-check.txt; set SER_PYTHON)"
    );
    if std::env::var("SER_REQUIRE_PYTHON").as_deref() == Ok("1") {
        panic!("{message}, and SER_REQUIRE_PYTHON=1");
    }
    eprintln!("\n*** SKIPPED: {message} ***\n");
    None
}

const READ_BACK: &str = r#"
import json, sys
import duckdb, pandas as pd
path = sys.argv[1]
df = pd.read_parquet(path)
con = duckdb.connect()
rows = con.execute(f"SELECT count(*) FROM '{path}'").fetchone()[0]
cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM '{path}'").fetchall()]
by_emotion = dict(con.execute(
    f"SELECT emotion, count(*) FROM '{path}' GROUP BY 1 ORDER BY 1").fetchall())
print(json.dumps({
    "pandas_rows": len(df), "pandas_columns": list(df.columns),
    "pandas_dtypes": {c: str(t) for c, t in df.dtypes.items()},
    "duckdb_rows": rows, "duckdb_columns": cols, "by_emotion": by_emotion,
    "mfcc0_mean_pandas": float(df["mfcc_mean_00"].mean()),
    "mfcc0_mean_duckdb": con.execute(f"SELECT avg(mfcc_mean_00) FROM '{path}'").fetchone()[0],
}))
"#;

#[test]
fn features_parquet_reads_in_pandas_and_duckdb() {
    let Some(python) = python() else { return };
    let ws = Workspace::new("");
    let written = make_corpus(&ws.corpus(), &[1, 2, 3], 16000, 0.3);
    let out = ws
        .cmd(&["run", "--stage", "extract", "-q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));

    let path = ws.out("features.parquet");
    let out = Command::new(&python)
        .args(["-c", READ_BACK])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["pandas_rows"], written.len());
    assert_eq!(got["duckdb_rows"], written.len());
    let names = FeatureParams::default().feature_names();
    for key in ["pandas_columns", "duckdb_columns"] {
        let cols: Vec<&str> = got[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(cols.len(), 15 + names.len(), "{key}");
        assert_eq!(
            &cols[..4],
            ["path", "corpus", "speaker", "emotion"],
            "{key}"
        );
        assert_eq!(&cols[15..], names.as_slice(), "{key}");
    }
    // Labels arrive as text and features as float64, not as codes or objects.
    assert_eq!(got["pandas_dtypes"]["mfcc_mean_00"], "float64");
    assert_eq!(got["pandas_dtypes"]["actor"], "int32");
    let by_emotion = got["by_emotion"].as_object().unwrap();
    assert_eq!(by_emotion.len(), 8);
    assert!(by_emotion.values().all(|n| n == 6), "{by_emotion:?}");
    let (a, b) = (
        got["mfcc0_mean_pandas"].as_f64().unwrap(),
        got["mfcc0_mean_duckdb"].as_f64().unwrap(),
    );
    assert!((a - b).abs() <= 1e-9 * a.abs(), "{a} vs {b}");
}
