//! `[models.mlp]`: the MLP's hyperparameters ([`MlpParams`], [`Precision`]) with their defaults,
//! and [`MlpParams::check`], whose error names the offending key.

use serde::{Deserialize, Serialize};

use crate::models::ParamError;

/// Prefix of the config keys named by [`MlpParams::check`].
const KEY: &str = "mlp";

/// Hyperparameters of [`Mlp`](super::Mlp) (`[models.mlp]` in the config). Defaults follow the
/// pipeline's recipe; the optimiser's and early stopping's follow scikit-learn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MlpParams {
    /// Widths of the hidden layers. Default `[512, 256, 128]`; empty is a softmax regression.
    pub hidden_layers: Vec<usize>,
    /// Adam's step size (scikit-learn's `learning_rate_init`). Default 1e-3.
    pub learning_rate: f64,
    /// Adam's first-moment decay. Default 0.9.
    pub beta_1: f64,
    /// Adam's second-moment decay. Default 0.999.
    pub beta_2: f64,
    /// Adam's denominator term. Default 1e-8.
    pub epsilon: f64,
    /// L2 penalty on the weights (not the biases). Default 1e-4.
    pub alpha: f64,
    /// Rows per mini-batch, clipped to the training rows. Default 64.
    pub batch_size: usize,
    /// Maximum number of epochs. Default 1000.
    pub max_iter: usize,
    /// Hold out `validation_fraction` of the rows and stop on its accuracy. Default true.
    pub early_stopping: bool,
    /// Fraction of the rows held out for early stopping, in (0, 1). Default 0.1.
    pub validation_fraction: f64,
    /// Epochs without improvement by more than `tol` before stopping. Default 10.
    pub n_iter_no_change: usize,
    /// Minimum improvement of validation accuracy (or training loss). Default 1e-4.
    pub tol: f64,
    /// Reshuffle the training rows every epoch. Default true.
    pub shuffle: bool,
    /// Probability of zeroing each hidden activation during training (inverted dropout: kept
    /// units are scaled by `1 / (1 - dropout)`), in [0, 1). Default 0, scikit-learn's semantics.
    pub dropout: f64,
    /// Seed of initialisation, validation split, shuffling and dropout. Default 42.
    pub seed: u64,
    /// Float type of the training arithmetic (`"f32"` or `"f64"`). Default `"f32"`: about twice
    /// as fast, and as accurate on this task (`bench/results/train-latest.md`). The fitted model
    /// is stored and predicts in f64 either way.
    pub precision: Precision,
}

/// Float type in which [`MlpParams::fit`] trains (`[models.mlp] precision`). scikit-learn's
/// `MLPClassifier` does the same: it trains in float32 when given float32 input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Single precision: sgemm, half the memory traffic of Adam's state.
    #[default]
    F32,
    /// Double precision, as scikit-learn with its default float64 input.
    F64,
}

impl Default for MlpParams {
    fn default() -> Self {
        MlpParams {
            hidden_layers: vec![512, 256, 128],
            learning_rate: 1e-3,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-8,
            alpha: 1e-4,
            batch_size: 64,
            max_iter: 1000,
            early_stopping: true,
            validation_fraction: 0.1,
            n_iter_no_change: 10,
            tol: 1e-4,
            shuffle: true,
            dropout: 0.0,
            seed: 42,
            precision: Precision::default(),
        }
    }
}

fn check_positive_finite(key: &str, v: f64) -> Result<(), ParamError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(ParamError::new(
            format!("{KEY}.{key}"),
            format!("must be a finite number > 0, got {v}"),
        ))
    }
}

fn check_unit_interval(key: &str, v: f64, lo_open: bool) -> Result<(), ParamError> {
    let ok = if lo_open {
        v > 0.0 && v < 1.0
    } else {
        (0.0..1.0).contains(&v)
    };
    if ok {
        Ok(())
    } else {
        let range = if lo_open { "(0, 1)" } else { "[0, 1)" };
        Err(ParamError::new(
            format!("{KEY}.{key}"),
            format!("must be in {range}, got {v}"),
        ))
    }
}

impl MlpParams {
    /// Checks every hyperparameter; the error names the offending key (`mlp.<field>`).
    pub fn check(&self) -> Result<(), ParamError> {
        if let Some(i) = self.hidden_layers.iter().position(|&w| w == 0) {
            return Err(ParamError::new(
                format!("{KEY}.hidden_layers"),
                format!("hidden layer {i} has width 0; every width must be >= 1"),
            ));
        }
        check_positive_finite("learning_rate", self.learning_rate)?;
        check_unit_interval("beta_1", self.beta_1, false)?;
        check_unit_interval("beta_2", self.beta_2, false)?;
        check_positive_finite("epsilon", self.epsilon)?;
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return Err(ParamError::new(
                format!("{KEY}.alpha"),
                format!("must be a finite number >= 0, got {}", self.alpha),
            ));
        }
        if self.batch_size == 0 {
            return Err(ParamError::new(format!("{KEY}.batch_size"), "must be >= 1"));
        }
        if self.max_iter == 0 {
            return Err(ParamError::new(format!("{KEY}.max_iter"), "must be >= 1"));
        }
        check_unit_interval("validation_fraction", self.validation_fraction, true)?;
        if self.n_iter_no_change == 0 {
            return Err(ParamError::new(
                format!("{KEY}.n_iter_no_change"),
                "must be >= 1",
            ));
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(ParamError::new(
                format!("{KEY}.tol"),
                format!("must be a finite number >= 0, got {}", self.tol),
            ));
        }
        check_unit_interval("dropout", self.dropout, false)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::mlp::MlpError;
    use ndarray::Array2;

    #[test]
    fn check_names_the_bad_key() {
        let bad = |f: fn(&mut MlpParams)| {
            let mut p = MlpParams::default();
            f(&mut p);
            p.check().unwrap_err().key
        };
        assert!(MlpParams::default().check().is_ok());
        assert!(MlpParams {
            hidden_layers: vec![],
            ..MlpParams::default()
        }
        .check()
        .is_ok());
        assert_eq!(bad(|p| p.hidden_layers = vec![8, 0]), "mlp.hidden_layers");
        assert_eq!(
            bad(|p| p.validation_fraction = 0.0),
            "mlp.validation_fraction"
        );
        assert_eq!(
            bad(|p| p.validation_fraction = 1.0),
            "mlp.validation_fraction"
        );
        assert_eq!(bad(|p| p.batch_size = 0), "mlp.batch_size");
        assert_eq!(bad(|p| p.learning_rate = 0.0), "mlp.learning_rate");
        assert_eq!(bad(|p| p.learning_rate = -1e-3), "mlp.learning_rate");
        assert_eq!(bad(|p| p.learning_rate = f64::NAN), "mlp.learning_rate");
        assert_eq!(bad(|p| p.dropout = 1.0), "mlp.dropout");
        assert_eq!(bad(|p| p.dropout = -0.1), "mlp.dropout");
        assert_eq!(bad(|p| p.beta_2 = 1.0), "mlp.beta_2");
        assert_eq!(bad(|p| p.alpha = -1.0), "mlp.alpha");
        assert_eq!(bad(|p| p.max_iter = 0), "mlp.max_iter");
        assert_eq!(bad(|p| p.n_iter_no_change = 0), "mlp.n_iter_no_change");
        assert_eq!(bad(|p| p.epsilon = 0.0), "mlp.epsilon");
        assert_eq!(bad(|p| p.tol = -1.0), "mlp.tol");

        // fit checks too, and refuses unusable data.
        let x = Array2::<f64>::zeros((20, 3));
        let y = vec![0usize; 20];
        let p = MlpParams {
            batch_size: 0,
            ..MlpParams::default()
        };
        assert!(
            matches!(p.fit(x.view(), &y, 2), Err(MlpError::Param(e)) if e.key == "mlp.batch_size")
        );
        let p = MlpParams::default();
        assert!(matches!(
            p.fit(x.view(), &y[..19], 2),
            Err(MlpError::Data(_))
        ));
        assert!(matches!(p.fit(x.view(), &y, 1), Err(MlpError::Data(_))));
        assert!(matches!(
            p.fit(x.view(), &[5; 20], 3),
            Err(MlpError::Data(_))
        ));
        let mut nan = x.clone();
        nan[[3, 1]] = f64::NAN;
        assert!(matches!(p.fit(nan.view(), &y, 2), Err(MlpError::Data(_))));
    }

    #[test]
    fn params_deserialize_with_defaults_and_refuse_unknown_keys() {
        let p: MlpParams =
            serde_json::from_str(r#"{"hidden_layers": [64], "dropout": 0.25}"#).unwrap();
        assert_eq!(
            p,
            MlpParams {
                hidden_layers: vec![64],
                dropout: 0.25,
                ..MlpParams::default()
            }
        );
        assert!(serde_json::from_str::<MlpParams>(r#"{"hidden_layer_sizes": [64]}"#).is_err());
    }
}
