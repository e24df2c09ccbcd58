//! `[evaluate]`: the acceptance criteria reported for every protocol, model and fold. The type is
//! [`crate::metrics::Criteria`] (where the thresholds are applied), with its defaults.

use crate::metrics::Criteria;

/// `[evaluate]`.
pub type EvaluateConfig = Criteria;

/// Each threshold must be in [0, 1]; the error names the first key that is not.
pub fn check(evaluate: &EvaluateConfig) -> Result<(), String> {
    for (key, v) in [
        ("evaluate.min_accuracy", evaluate.min_accuracy),
        ("evaluate.min_macro_f1", evaluate.min_macro_f1),
        ("evaluate.min_class_recall", evaluate.min_class_recall),
    ] {
        if !(0.0..=1.0).contains(&v) {
            return Err(format!("{key}: must be in [0, 1], got {v}"));
        }
    }
    Ok(())
}
