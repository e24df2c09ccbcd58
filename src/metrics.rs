//! Classification metrics with scikit-learn's exact semantics (pure: no IO).
//!
//! Labels are class ids `0..n_classes`, as `preprocess::LabelEncoder` produces them, and the
//! class names are passed alongside. Everything here mirrors scikit-learn 1.9:
//!
//! * [`confusion_matrix`] is `sklearn.metrics.confusion_matrix(y_true, y_pred,
//!   labels=range(n_classes))`: rows are the true class, columns the predicted one.
//! * [`classification_report`] is `sklearn.metrics.classification_report(y_true, y_pred,
//!   labels=range(n_classes), output_dict=True, zero_division=0)`:
//!   - precision `tp / predicted`, recall `tp / support`, and F1 `2 tp / (support + predicted)`
//!     (the form scikit-learn computes, identical to `2 p r / (p + r)` where both are defined);
//!     a zero denominator gives 0 (`zero_division=0`): a class never predicted has precision 0,
//!     a class absent from `y_true` has recall 0 and support 0, and one that is both has F1 0;
//!   - the macro average is the unweighted mean over **all** `labels`, absent classes included;
//!   - the weighted average weights each class by its support;
//!   - accuracy is `trace / n`.
//!
//!   Means are summed in NumPy's pairwise order, so results agree with scikit-learn to the last
//!   bit or nearly (`tests/metrics_parity.rs` checks 1e-12 against fixtures made by
//!   `tools/reference/sklearn_metrics.py`).
//!
//! [`Criteria`] holds the project's acceptance thresholds ("accuracy > 80%", macro F1 > 0.80,
//! every class's recall > 0.75), each a strict inequality.

use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// Counts of `(true, predicted)` pairs: `cm[[t, p]]` is the number of samples of class `t`
/// predicted as `p` (scikit-learn's `confusion_matrix`). Row sums are the class supports, column
/// sums the prediction counts, and the whole sums to `y_true.len()`.
///
/// # Panics
/// If the two slices differ in length or a label is not below `n_classes`.
pub fn confusion_matrix(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> Array2<u64> {
    assert_eq!(
        y_true.len(),
        y_pred.len(),
        "confusion_matrix: y_true has {} labels but y_pred has {}",
        y_true.len(),
        y_pred.len()
    );
    let mut cm = Array2::<u64>::zeros((n_classes, n_classes));
    for (i, (&t, &p)) in y_true.iter().zip(y_pred).enumerate() {
        assert!(
            t < n_classes && p < n_classes,
            "confusion_matrix: sample {i} has labels (true {t}, predicted {p}) but there are \
             only {n_classes} classes"
        );
        cm[[t, p]] += 1;
    }
    cm
}

/// One class's row of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassReport {
    /// The class name.
    pub label: String,
    /// `tp / predicted`, 0 when the class is never predicted.
    pub precision: f64,
    /// `tp / support`, 0 when the class is absent from `y_true`.
    pub recall: f64,
    /// `2 tp / (support + predicted)`, 0 when both are 0.
    pub f1: f64,
    /// Number of samples whose true class this is.
    pub support: u64,
}

/// An averaged row of the report (`macro avg` or `weighted avg`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Average {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// The total number of samples, as scikit-learn reports it.
    pub support: u64,
}

/// scikit-learn's `classification_report(..., output_dict=True, zero_division=0)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// One row per class, in label order (class id `i` is `classes[i]`).
    pub classes: Vec<ClassReport>,
    /// Fraction of samples predicted correctly.
    pub accuracy: f64,
    /// Unweighted mean over all classes, including classes absent from `y_true`.
    pub macro_avg: Average,
    /// Mean weighted by each class's support.
    pub weighted_avg: Average,
}

impl Report {
    /// The number of samples the report was computed on.
    pub fn n_samples(&self) -> u64 {
        self.macro_avg.support
    }

    /// Macro-averaged F1 (the mean of the per-class F1 scores).
    pub fn macro_f1(&self) -> f64 {
        self.macro_avg.f1
    }

    /// Support-weighted F1.
    pub fn weighted_f1(&self) -> f64 {
        self.weighted_avg.f1
    }

    /// The lowest per-class recall. A class absent from `y_true` counts with recall 0, as
    /// scikit-learn reports it: a test set without a class cannot show that it is recognised.
    pub fn min_recall(&self) -> f64 {
        self.weakest_class().map_or(0.0, |c| c.recall)
    }

    /// The class with the lowest recall (the first of equals).
    pub fn weakest_class(&self) -> Option<&ClassReport> {
        self.classes
            .iter()
            .reduce(|best, c| if c.recall < best.recall { c } else { best })
    }
}

/// The report for class ids `0..labels.len()` named by `labels`; see the module docs for the
/// exact definitions.
///
/// # Panics
/// If `labels` is empty, `y_true` is empty (scikit-learn raises too), the slices differ in
/// length, or a class id is not below `labels.len()`.
pub fn classification_report(y_true: &[usize], y_pred: &[usize], labels: &[String]) -> Report {
    assert!(!labels.is_empty(), "classification_report: no labels");
    assert!(
        !y_true.is_empty(),
        "classification_report: no samples (scikit-learn raises on empty input too)"
    );
    let cm = confusion_matrix(y_true, y_pred, labels.len());
    report_from_confusion(&cm, labels)
}

/// The report of a confusion matrix (rows true, columns predicted), e.g. one summed over folds.
///
/// # Panics
/// If `cm` is not `labels.len()` square, or `labels` is empty, or `cm` counts no sample.
pub fn report_from_confusion(cm: &Array2<u64>, labels: &[String]) -> Report {
    let k = labels.len();
    assert!(k > 0, "classification_report: no labels");
    assert_eq!(
        cm.dim(),
        (k, k),
        "classification_report: the confusion matrix does not match {k} labels"
    );
    let n: u64 = cm.sum();
    assert!(n > 0, "classification_report: no samples");

    let mut classes = Vec::with_capacity(k);
    let mut correct = 0u64;
    for (i, label) in labels.iter().enumerate() {
        let tp = cm[[i, i]];
        let support: u64 = cm.row(i).sum();
        let predicted: u64 = cm.column(i).sum();
        correct += tp;
        classes.push(ClassReport {
            label: label.clone(),
            precision: divide(tp as f64, predicted as f64),
            recall: divide(tp as f64, support as f64),
            // scikit-learn: (1 + beta^2) tp / (beta^2 true_sum + pred_sum) with beta = 1.
            f1: divide(2.0 * tp as f64, support as f64 + predicted as f64),
            support,
        });
    }

    let column = |f: fn(&ClassReport) -> f64| classes.iter().map(f).collect::<Vec<_>>();
    let (precision, recall, f1) = (
        column(|c| c.precision),
        column(|c| c.recall),
        column(|c| c.f1),
    );
    let supports: Vec<f64> = classes.iter().map(|c| c.support as f64).collect();

    let macro_avg = Average {
        precision: mean(&precision),
        recall: mean(&recall),
        f1: mean(&f1),
        support: n,
    };
    let weighted_avg = Average {
        precision: weighted_mean(&precision, &supports),
        recall: weighted_mean(&recall, &supports),
        f1: weighted_mean(&f1, &supports),
        support: n,
    };
    Report {
        classes,
        // scikit-learn reports the micro-averaged F1 here, 2 correct / 2n, which is correct / n.
        accuracy: correct as f64 / n as f64,
        macro_avg,
        weighted_avg,
    }
}

/// `a / b`, or 0 when `b` is 0 (scikit-learn's `zero_division=0`).
fn divide(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        a / b
    }
}

/// `numpy.mean`: pairwise sum divided by the count.
fn mean(x: &[f64]) -> f64 {
    pairwise_sum(x) / x.len() as f64
}

/// `numpy.average(x, weights=w)`: `sum(x * w) / sum(w)`, both sums pairwise. scikit-learn's
/// weighted average never divides by zero here since `n > 0`.
fn weighted_mean(x: &[f64], w: &[f64]) -> f64 {
    let products: Vec<f64> = x.iter().zip(w).map(|(a, b)| a * b).collect();
    pairwise_sum(&products) / pairwise_sum(w)
}

/// NumPy's `pairwise_sum` for float64 (`numpy/_core/src/umath/loops_utils.h.src`): plain
/// sequential sum below 8 values, eight interleaved accumulators up to 128, halves above.
fn pairwise_sum(a: &[f64]) -> f64 {
    const BLOCK: usize = 128;
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for &v in a {
            res += v;
        }
        res
    } else if n <= BLOCK {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let whole = n - n % 8;
        let mut i = 8;
        while i < whole {
            for j in 0..8 {
                r[j] += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &v in &a[whole..] {
            res += v;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

/// The project's acceptance thresholds; each must be exceeded strictly.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Criteria {
    /// Accuracy must be greater than this (the project states "accuracy > 80%").
    pub min_accuracy: f64,
    /// Macro-averaged F1 must be greater than this.
    pub min_macro_f1: f64,
    /// Every class's recall must be greater than this.
    pub min_class_recall: f64,
}

impl Default for Criteria {
    fn default() -> Criteria {
        Criteria {
            min_accuracy: 0.80,
            min_macro_f1: 0.80,
            min_class_recall: 0.75,
        }
    }
}

/// Which acceptance criteria a report meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CriteriaResult {
    pub accuracy_pass: bool,
    pub macro_f1_pass: bool,
    /// Every class's recall exceeds the threshold.
    pub recall_pass: bool,
    pub all_pass: bool,
}

impl Criteria {
    /// Checks `report` against the thresholds (strictly greater than; NaN fails).
    pub fn evaluate(&self, report: &Report) -> CriteriaResult {
        let accuracy_pass = report.accuracy > self.min_accuracy;
        let macro_f1_pass = report.macro_f1() > self.min_macro_f1;
        let recall_pass = !report.classes.is_empty()
            && report
                .classes
                .iter()
                .all(|c| c.recall > self.min_class_recall);
        CriteriaResult {
            accuracy_pass,
            macro_f1_pass,
            recall_pass,
            all_pass: accuracy_pass && macro_f1_pass && recall_pass,
        }
    }
}

/// [`Criteria::evaluate`] with the default thresholds.
pub fn evaluate(report: &Report) -> CriteriaResult {
    Criteria::default().evaluate(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use proptest::prelude::*;

    fn names(k: usize) -> Vec<String> {
        (0..k).map(|i| format!("c{i}")).collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-15
    }

    #[test]
    fn confusion_matrix_counts_pairs() {
        let cm = confusion_matrix(&[0, 0, 1, 2, 2, 2], &[0, 1, 1, 2, 0, 2], 3);
        assert_eq!(cm, array![[1, 1, 0], [0, 1, 0], [1, 0, 2]]);
        assert_eq!(confusion_matrix(&[], &[], 2), Array2::<u64>::zeros((2, 2)));
    }

    #[test]
    #[should_panic(expected = "only 2 classes")]
    fn confusion_matrix_rejects_unknown_class() {
        confusion_matrix(&[0, 2], &[0, 1], 2);
    }

    #[test]
    #[should_panic(expected = "y_pred has 1")]
    fn confusion_matrix_rejects_length_mismatch() {
        confusion_matrix(&[0, 1], &[0], 2);
    }

    /// Hand-computed, and the same numbers scikit-learn 1.9.1 prints for
    /// `classification_report([0,1,1,2], [0,1,0,0], labels=[0,1,2,3], output_dict=True,
    /// zero_division=0)`: class 2 is never predicted, class 3 never present.
    #[test]
    fn report_known_answer_with_unpredicted_and_absent_classes() {
        let r = classification_report(&[0, 1, 1, 2], &[0, 1, 0, 0], &names(4));
        let rows: Vec<(f64, f64, f64, u64)> = r
            .classes
            .iter()
            .map(|c| (c.precision, c.recall, c.f1, c.support))
            .collect();
        assert_eq!(
            rows,
            vec![
                (1.0 / 3.0, 1.0, 0.5, 1),
                (1.0, 0.5, 2.0 / 3.0, 2),
                (0.0, 0.0, 0.0, 1),
                (0.0, 0.0, 0.0, 0),
            ]
        );
        assert_eq!(r.classes[3].label, "c3");
        assert_eq!(r.accuracy, 0.5);
        assert_eq!(r.n_samples(), 4);
        // Macro over all four labels, the absent one included.
        assert!(close(r.macro_avg.precision, 0.3333333333333333));
        assert!(close(r.macro_avg.recall, 0.375));
        assert!(close(r.macro_avg.f1, 0.29166666666666663));
        assert!(close(r.weighted_avg.precision, 0.5833333333333334));
        assert!(close(r.weighted_avg.recall, 0.5));
        assert!(close(r.weighted_avg.f1, 0.4583333333333333));
        assert_eq!(r.weighted_avg.support, 4);
        assert_eq!(r.min_recall(), 0.0);
        assert_eq!(r.weakest_class().unwrap().label, "c2");
        assert_eq!(r.macro_f1(), r.macro_avg.f1);
        assert_eq!(r.weighted_f1(), r.weighted_avg.f1);
    }

    #[test]
    fn perfect_predictions_score_one() {
        let y = [0, 1, 2, 1, 0];
        let r = classification_report(&y, &y, &names(3));
        assert_eq!(r.accuracy, 1.0);
        assert_eq!(r.macro_f1(), 1.0);
        assert_eq!(r.weighted_f1(), 1.0);
        assert_eq!(r.min_recall(), 1.0);
        assert!(evaluate(&r).all_pass);
    }

    #[test]
    #[should_panic(expected = "no samples")]
    fn empty_input_panics_as_sklearn_raises() {
        classification_report(&[], &[], &names(2));
    }

    #[test]
    fn pairwise_sum_follows_numpy_order() {
        // Below 8: sequential. 8..=128: eight lanes then the rest.
        let a: Vec<f64> = (0..20).map(|i| 0.1 * i as f64).collect();
        let mut r = [0.0; 8];
        r.copy_from_slice(&a[..8]);
        for j in 0..8 {
            r[j] += a[8 + j];
        }
        let expected =
            ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7])) + a[16] + a[17];
        let expected = expected + a[18] + a[19];
        assert_eq!(pairwise_sum(&a), expected);
        assert_eq!(pairwise_sum(&[1.0, 2.0, 3.0]), 6.0);
        assert_eq!(pairwise_sum(&[]), 0.0);
        let big: Vec<f64> = (0..1000).map(|i| i as f64).collect();
        assert_eq!(pairwise_sum(&big), 499_500.0);
    }

    fn report_with(accuracy: f64, macro_f1: f64, recalls: &[f64]) -> Report {
        let avg = Average {
            precision: 0.0,
            recall: 0.0,
            f1: macro_f1,
            support: 10,
        };
        Report {
            classes: recalls
                .iter()
                .enumerate()
                .map(|(i, &recall)| ClassReport {
                    label: format!("c{i}"),
                    precision: 0.0,
                    recall,
                    f1: 0.0,
                    support: 5,
                })
                .collect(),
            accuracy,
            macro_avg: avg,
            weighted_avg: avg,
        }
    }

    #[test]
    fn criteria_are_strict_inequalities() {
        let c = Criteria::default();
        assert_eq!(
            (c.min_accuracy, c.min_macro_f1, c.min_class_recall),
            (0.80, 0.80, 0.75)
        );
        let at = c.evaluate(&report_with(0.80, 0.80, &[0.75, 0.9]));
        assert_eq!(
            at,
            CriteriaResult {
                accuracy_pass: false,
                macro_f1_pass: false,
                recall_pass: false,
                all_pass: false
            }
        );
        let above = c.evaluate(&report_with(0.81, 0.805, &[0.76, 0.9]));
        assert!(above.accuracy_pass && above.macro_f1_pass && above.recall_pass);
        assert!(above.all_pass);
        let one_weak = c.evaluate(&report_with(0.9, 0.9, &[0.9, 0.7]));
        assert!(one_weak.accuracy_pass && one_weak.macro_f1_pass);
        assert!(!one_weak.recall_pass && !one_weak.all_pass);
        let nan = c.evaluate(&report_with(f64::NAN, 0.9, &[0.9]));
        assert!(!nan.accuracy_pass && !nan.all_pass);
    }

    #[test]
    fn criteria_read_from_json_with_defaults() {
        let c: Criteria = serde_json::from_str(r#"{"min_accuracy": 0.5}"#).unwrap();
        assert_eq!(
            c,
            Criteria {
                min_accuracy: 0.5,
                ..Criteria::default()
            }
        );
        assert!(serde_json::from_str::<Criteria>(r#"{"min_acc": 0.5}"#).is_err());
    }

    #[test]
    fn report_serialises_to_json() {
        let r = classification_report(&[0, 1], &[0, 0], &names(2));
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["accuracy"], 0.5);
        assert_eq!(v["classes"][1]["label"], "c1");
        assert_eq!(v["macro_avg"]["support"], 2);
        let back: Report = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }

    fn labelled() -> impl Strategy<Value = (usize, Vec<(usize, usize)>)> {
        (1usize..9).prop_flat_map(|k| (Just(k), prop::collection::vec((0..k, 0..k), 1..200)))
    }

    proptest! {
        #[test]
        fn confusion_matrix_invariants((k, pairs) in labelled()) {
            let (t, p): (Vec<usize>, Vec<usize>) = pairs.iter().copied().unzip();
            let cm = confusion_matrix(&t, &p, k);
            prop_assert_eq!(cm.sum(), t.len() as u64);
            for c in 0..k {
                let support = t.iter().filter(|&&x| x == c).count() as u64;
                let predicted = p.iter().filter(|&&x| x == c).count() as u64;
                prop_assert_eq!(cm.row(c).sum(), support);
                prop_assert_eq!(cm.column(c).sum(), predicted);
            }
        }

        #[test]
        fn report_invariants((k, pairs) in labelled()) {
            let (t, p): (Vec<usize>, Vec<usize>) = pairs.iter().copied().unzip();
            let cm = confusion_matrix(&t, &p, k);
            let r = classification_report(&t, &p, &names(k));
            let n = t.len();
            prop_assert_eq!(r.accuracy, cm.diag().sum() as f64 / n as f64);
            let correct = t.iter().zip(&p).filter(|(a, b)| a == b).count();
            prop_assert_eq!(r.accuracy, correct as f64 / n as f64);
            prop_assert_eq!(r.classes.len(), k);
            prop_assert_eq!(r.classes.iter().map(|c| c.support).sum::<u64>(), n as u64);
            prop_assert_eq!(r.macro_avg.support, n as u64);
            for (i, c) in r.classes.iter().enumerate() {
                prop_assert_eq!(c.support, cm.row(i).sum());
                for v in [c.precision, c.recall, c.f1] {
                    prop_assert!((0.0..=1.0).contains(&v));
                }
                if c.precision + c.recall > 0.0 {
                    let f1 = 2.0 * c.precision * c.recall / (c.precision + c.recall);
                    prop_assert!((f1 - c.f1).abs() < 1e-12);
                }
            }
            // The weighted recall is the accuracy.
            prop_assert!((r.weighted_avg.recall - r.accuracy).abs() < 1e-12);
            let min = r.classes.iter().map(|c| c.recall).fold(f64::INFINITY, f64::min);
            prop_assert_eq!(r.min_recall(), min);
            prop_assert!((r.macro_f1()
                - r.classes.iter().map(|c| c.f1).sum::<f64>() / k as f64).abs() < 1e-12);
        }
    }
}
