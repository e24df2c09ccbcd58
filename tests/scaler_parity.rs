//! `preprocess::Scaler` against scikit-learn's `StandardScaler` (fixtures made by
//! `tools/reference/sklearn_scaler.py`): fitted mean and scale, and the transformed rows.
//! Tolerance: 1e-12 relative to each column's magnitude (sklearn accumulates the mean and
//! variance in another order), and constant columns must give scale 1 and output 0 exactly.

use ndarray::Array2;
use ser_pipeline::preprocess::Scaler;

fn matrix(v: &serde_json::Value) -> Array2<f64> {
    let rows: Vec<Vec<f64>> = serde_json::from_value(v.clone()).unwrap();
    let (n, d) = (rows.len(), rows[0].len());
    Array2::from_shape_vec((n, d), rows.concat()).unwrap()
}

#[test]
fn scaler_matches_sklearn_standard_scaler() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sklearn_scaler/cases.json"
    );
    let fixture: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for case in fixture["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let x = matrix(&case["x"]);
        let mean: Vec<f64> = serde_json::from_value(case["mean"].clone()).unwrap();
        let scale: Vec<f64> = serde_json::from_value(case["scale"].clone()).unwrap();
        let z_ref = matrix(&case["z"]);
        let s = Scaler::fit(x.view());
        for j in 0..x.ncols() {
            let magnitude = x.column(j).iter().fold(0.0f64, |m, v| m.max(v.abs()));
            assert!(
                (s.mean[j] - mean[j]).abs() <= 1e-12 * magnitude,
                "{name} col {j}: mean {} vs {}",
                s.mean[j],
                mean[j]
            );
            if scale[j] == 1.0 {
                assert_eq!(s.scale[j], 1.0, "{name} col {j}: constant column");
            } else {
                assert!(
                    (s.scale[j] - scale[j]).abs() <= 1e-12 * scale[j],
                    "{name} col {j}: scale {} vs {}",
                    s.scale[j],
                    scale[j]
                );
            }
        }
        let z = s.transform(x.view());
        for ((i, j), v) in z.indexed_iter() {
            let r = z_ref[[i, j]];
            assert!(
                (v - r).abs() <= 1e-9 * (1.0 + r.abs()),
                "{name} [{i},{j}]: {v} vs {r}"
            );
        }
    }
}
