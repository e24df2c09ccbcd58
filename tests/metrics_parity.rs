//! `ser_pipeline::metrics` against scikit-learn 1.9.1: every number of
//! `classification_report(..., output_dict=True, zero_division=0)` and `confusion_matrix` for the
//! seeded cases in `tests/fixtures/sklearn_metrics/cases.json`, made by
//! `tools/reference/sklearn_metrics.py` (regenerate with that script; see its docstring).

use std::path::Path;

use ser_pipeline::metrics::{
    classification_report, confusion_matrix, report_from_confusion, Average, Report,
};
use serde_json::Value;

const TOLERANCE: f64 = 1e-12;

fn fixture() -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sklearn_metrics/cases.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("cases.json is JSON")
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_u64().expect("a class id") as usize)
        .collect()
}

fn num(v: &Value, what: &str) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("{what}: not a number: {v}"))
}

fn check(case: &str, what: &str, ours: f64, theirs: f64) {
    assert!(
        (ours - theirs).abs() <= TOLERANCE,
        "{case}: {what}: ours {ours:e} vs scikit-learn {theirs:e} (diff {:e})",
        (ours - theirs).abs()
    );
}

fn check_row(case: &str, name: &str, sk: &Value, p: f64, r: f64, f1: f64, support: u64) {
    check(
        case,
        &format!("{name} precision"),
        p,
        num(&sk["precision"], name),
    );
    check(case, &format!("{name} recall"), r, num(&sk["recall"], name));
    check(case, &format!("{name} f1"), f1, num(&sk["f1-score"], name));
    // scikit-learn reports support as a float.
    assert_eq!(
        support as f64,
        num(&sk["support"], name),
        "{case}: {name} support"
    );
}

fn check_average(case: &str, name: &str, sk: &Value, avg: &Average) {
    check_row(
        case,
        name,
        sk,
        avg.precision,
        avg.recall,
        avg.f1,
        avg.support,
    );
}

fn check_report(case: &str, ours: &Report, sk: &Value, labels: &[String]) {
    let keys: Vec<&str> = sk
        .as_object()
        .expect("report is an object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected: Vec<&str> = labels.iter().map(String::as_str).collect();
    expected.extend(["accuracy", "macro avg", "weighted avg"]);
    let (mut k1, mut k2) = (keys.clone(), expected.clone());
    k1.sort_unstable();
    k2.sort_unstable();
    assert_eq!(k1, k2, "{case}: scikit-learn's report has other rows");

    assert_eq!(ours.classes.len(), labels.len(), "{case}: rows");
    for (c, label) in ours.classes.iter().zip(labels) {
        assert_eq!(&c.label, label, "{case}: label order");
        check_row(
            case,
            label,
            &sk[label],
            c.precision,
            c.recall,
            c.f1,
            c.support,
        );
    }
    check(
        case,
        "accuracy",
        ours.accuracy,
        num(&sk["accuracy"], "accuracy"),
    );
    check_average(case, "macro avg", &sk["macro avg"], &ours.macro_avg);
    check_average(
        case,
        "weighted avg",
        &sk["weighted avg"],
        &ours.weighted_avg,
    );
}

#[test]
fn reports_and_confusion_matrices_match_scikit_learn() {
    let data = fixture();
    let labels: Vec<String> = data["labels"]
        .as_array()
        .expect("labels")
        .iter()
        .map(|v| v.as_str().expect("a label").to_owned())
        .collect();
    let cases = data["cases"].as_array().expect("cases");
    assert!(cases.len() >= 4, "the fixture lost its cases");

    let mut names = Vec::new();
    for case in cases {
        let name = case["name"].as_str().expect("case name");
        names.push(name);
        let y_true = usizes(&case["y_true"]);
        let y_pred = usizes(&case["y_pred"]);

        let cm = confusion_matrix(&y_true, &y_pred, labels.len());
        let sk_cm: Vec<Vec<u64>> = case["confusion_matrix"]
            .as_array()
            .expect("confusion_matrix")
            .iter()
            .map(|row| usizes(row).into_iter().map(|v| v as u64).collect())
            .collect();
        let ours_cm: Vec<Vec<u64>> = cm.rows().into_iter().map(|r| r.to_vec()).collect();
        assert_eq!(ours_cm, sk_cm, "{name}: confusion matrix");

        let report = classification_report(&y_true, &y_pred, &labels);
        check_report(name, &report, &case["report"], &labels);
        // The same report from the matrix alone.
        assert_eq!(report_from_confusion(&cm, &labels), report, "{name}");
    }

    // The edge cases the fixture exists for are still there.
    for needed in [
        "never_predicted",
        "absent_from_true",
        "absent_and_never_predicted",
    ] {
        assert!(
            names.contains(&needed),
            "the fixture lacks the {needed} case"
        );
    }
}

#[test]
fn fixture_edge_cases_are_what_they_claim() {
    let data = fixture();
    let case = |n: &str| {
        data["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == n)
            .unwrap_or_else(|| panic!("no case {n}"))
            .clone()
    };
    let names: Vec<String> = (0..8).map(|i: usize| i.to_string()).collect();

    let c = case("never_predicted");
    let r = classification_report(&usizes(&c["y_true"]), &usizes(&c["y_pred"]), &names);
    assert!(r.classes[1].support > 0);
    assert_eq!((r.classes[1].precision, r.classes[1].recall), (0.0, 0.0));

    let c = case("absent_from_true");
    let r = classification_report(&usizes(&c["y_true"]), &usizes(&c["y_pred"]), &names);
    assert_eq!(r.classes[7].support, 0);
    assert_eq!(r.classes[7].recall, 0.0);
    assert_eq!(r.min_recall(), 0.0);

    let c = case("absent_and_never_predicted");
    let r = classification_report(&usizes(&c["y_true"]), &usizes(&c["y_pred"]), &names);
    assert_eq!(r.classes[6].support, 0);
    assert_eq!(r.classes[6].f1, 0.0);
    // The absent class still counts in the macro average.
    let mean_f1 = r.classes.iter().map(|c| c.f1).sum::<f64>() / 8.0;
    assert!((r.macro_f1() - mean_f1).abs() < 1e-12);
}
