//! The RBF kernel, `K(a, b) = exp(-gamma * |a - b|^2)`, and its width [`Gamma`] as the config
//! gives it (`"scale"`, `"auto"` or a number).

use std::fmt;

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

/// The RBF kernel width, `K(a, b) = exp(-gamma * |a - b|^2)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Gamma {
    /// `1 / (n_features * X.var())` of the training matrix (all entries pooled; 1 when the
    /// variance is 0), scikit-learn's default `gamma="scale"`.
    Scale,
    /// `1 / n_features`, scikit-learn's `gamma="auto"`.
    Auto,
    /// A fixed value > 0.
    Value(f64),
}

impl Gamma {
    /// The numeric gamma for a training matrix.
    pub fn resolve(self, x: ArrayView2<'_, f64>) -> f64 {
        let d = x.ncols().max(1) as f64;
        match self {
            Gamma::Value(g) => g,
            Gamma::Auto => 1.0 / d,
            Gamma::Scale => {
                // numpy's X.var(): the mean squared deviation from the mean of all entries.
                let n = x.len().max(1) as f64;
                let mean = x.iter().sum::<f64>() / n;
                let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
                if var > 0.0 {
                    1.0 / (d * var)
                } else {
                    1.0
                }
            }
        }
    }
}

impl Serialize for Gamma {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Gamma::Scale => s.serialize_str("scale"),
            Gamma::Auto => s.serialize_str("auto"),
            Gamma::Value(v) => s.serialize_f64(*v),
        }
    }
}

impl<'de> Deserialize<'de> for Gamma {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Gamma, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Gamma;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("models.svm.gamma: \"scale\", \"auto\" or a number > 0")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Gamma, E> {
                match v {
                    "scale" => Ok(Gamma::Scale),
                    "auto" => Ok(Gamma::Auto),
                    other => Err(E::custom(format!(
                        "models.svm.gamma: expected \"scale\", \"auto\" or a number > 0, got {other:?}"
                    ))),
                }
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Gamma, E> {
                Ok(Gamma::Value(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Gamma, E> {
                Ok(Gamma::Value(v as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Gamma, E> {
                Ok(Gamma::Value(v as f64))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// `exp(-gamma * |a_i - b_j|^2)` for every row pair, `(a.nrows(), b.nrows())`.
pub(super) fn rbf_kernel(
    a: ArrayView2<'_, f64>,
    b: ArrayView2<'_, f64>,
    gamma: f64,
) -> Array2<f64> {
    let sq =
        |m: ArrayView2<'_, f64>| -> Vec<f64> { m.rows().into_iter().map(|r| r.dot(&r)).collect() };
    let (sa, sb) = (sq(a), sq(b));
    let mut k = a.dot(&b.t());
    for ((i, j), v) in k.indexed_iter_mut() {
        // The expanded form can go slightly negative by rounding.
        let d2 = (sa[i] + sb[j] - 2.0 * *v).max(0.0);
        *v = (-gamma * d2).exp();
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::svm::SvmParams;
    use ndarray::Array2;

    #[test]
    fn gamma_reads_scale_auto_and_numbers() {
        let parse = |t: &str| toml::from_str::<SvmParams>(t).map(|p| p.gamma);
        assert_eq!(parse("gamma = \"scale\"").unwrap(), Gamma::Scale);
        assert_eq!(parse("gamma = \"auto\"").unwrap(), Gamma::Auto);
        assert_eq!(parse("gamma = 0.25").unwrap(), Gamma::Value(0.25));
        assert_eq!(parse("gamma = 2").unwrap(), Gamma::Value(2.0));
        let err = parse("gamma = \"wide\"").unwrap_err().to_string();
        assert!(err.contains("models.svm.gamma"), "{err}");
        let p = SvmParams {
            gamma: Gamma::Value(0.125),
            ..Default::default()
        };
        assert_eq!(
            toml::from_str::<SvmParams>(&toml::to_string(&p).unwrap()).unwrap(),
            p
        );
        // scale: 1 / (n_features * X.var()).
        let x = ndarray::array![[0.0, 2.0], [2.0, 0.0]];
        assert_eq!(Gamma::Scale.resolve(x.view()), 0.5);
        assert_eq!(Gamma::Auto.resolve(x.view()), 0.5);
        assert_eq!(Gamma::Scale.resolve(Array2::zeros((3, 2)).view()), 1.0);
    }
}
