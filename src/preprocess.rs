//! Label encoding and standard scaling, both fitted on training rows only.

use ndarray::{Array1, Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::corpus::Emotion;

/// Emotions <-> class ids `0..n`, in the vocabulary's order (neutral, calm, happy, sad, angry,
/// fearful, disgust, surprised, boredom, contempt, then other names alphabetically; for
/// RAVDESS its code order), restricted to the classes a model is trained on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelEncoder {
    classes: Vec<Emotion>,
}

impl LabelEncoder {
    /// The classes present in `labels`, minus `exclude`, in code order.
    pub fn fit(labels: impl IntoIterator<Item = Emotion>, exclude: &[Emotion]) -> LabelEncoder {
        let mut classes: Vec<Emotion> = labels
            .into_iter()
            .filter(|e| !exclude.contains(e))
            .collect();
        classes.sort();
        classes.dedup();
        LabelEncoder { classes }
    }

    pub fn from_classes(mut classes: Vec<Emotion>) -> LabelEncoder {
        classes.sort();
        classes.dedup();
        LabelEncoder { classes }
    }

    pub fn classes(&self) -> &[Emotion] {
        &self.classes
    }

    pub fn len(&self) -> usize {
        self.classes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }

    /// The id of a class, `None` for a class the encoder does not know (excluded or unseen).
    pub fn encode(&self, e: &Emotion) -> Option<usize> {
        self.classes.binary_search(e).ok()
    }

    pub fn decode(&self, id: usize) -> &Emotion {
        &self.classes[id]
    }

    /// Class names in id order, for tables and reports.
    pub fn labels(&self) -> Vec<String> {
        self.classes.iter().map(|e| e.label().to_string()).collect()
    }
}

/// `sklearn.preprocessing.StandardScaler()` (with_mean, with_std): per column
/// `(x - mean) / scale`, with `scale` the population standard deviation, and 1 for columns
/// that are constant (to sklearn's test, `_is_constant_feature`), so they map to 0, not NaN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
}

impl Scaler {
    /// Fits on the rows of `x` (the training part only). `x` must have at least one row.
    pub fn fit(x: ArrayView2<'_, f64>) -> Scaler {
        let n = x.nrows() as f64;
        let mean: Array1<f64> = x.mean_axis(Axis(0)).expect("at least one row");
        let mut var = Array1::<f64>::zeros(x.ncols());
        for row in x.rows() {
            for ((v, &xi), &m) in var.iter_mut().zip(row).zip(&mean) {
                *v += (xi - m) * (xi - m);
            }
        }
        var /= n;
        let eps = f64::EPSILON;
        let scale = var
            .iter()
            .zip(&mean)
            .map(|(&v, &m)| {
                // sklearn.utils.extmath._is_constant_feature: the variance is within the
                // rounding error its computation can make.
                let bound = n * eps * v + (n * m * eps).powi(2);
                if v <= bound {
                    1.0
                } else {
                    v.sqrt()
                }
            })
            .collect();
        Scaler {
            mean: mean.to_vec(),
            scale,
        }
    }

    pub fn transform(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        let mut out = x.to_owned();
        self.transform_in_place(&mut out);
        out
    }

    /// [`Scaler::transform`] in place, without a second matrix.
    pub fn transform_in_place(&self, x: &mut Array2<f64>) {
        for row in x.rows_mut() {
            self.transform_row(row);
        }
    }

    /// [`Scaler::transform`] of one row, in place.
    pub fn transform_row(&self, mut row: ndarray::ArrayViewMut1<'_, f64>) {
        for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.scale) {
            *v = (*v - m) / s;
        }
    }

    /// [`Scaler::inverse_transform`] of one row, in place.
    pub fn inverse_row(&self, mut row: ndarray::ArrayViewMut1<'_, f64>) {
        for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.scale) {
            *v = *v * s + m;
        }
    }

    pub fn inverse_transform(&self, z: ArrayView2<'_, f64>) -> Array2<f64> {
        let mut out = z.to_owned();
        for mut row in out.rows_mut() {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.scale) {
                *v = *v * s + m;
            }
        }
        out
    }
}

/// Per-speaker standardisation: one [`Scaler`] per speaker, fitted on that speaker's rows.
/// Speakers are keys of any ordered type (`corpus/speaker` strings in the pipeline); the
/// order of the keys is the order the population statistics are summed in.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeakerNorm<K: Ord + Clone + std::fmt::Display = std::sync::Arc<str>> {
    by_speaker: std::collections::BTreeMap<K, Scaler>,
}

impl<K: Ord + Clone + std::fmt::Display> SpeakerNorm<K> {
    /// Fits a scaler per distinct speaker in `speakers` (row `i` is spoken by `speakers[i]`).
    pub fn fit(x: ArrayView2<'_, f64>, speakers: &[K]) -> SpeakerNorm<K> {
        let mut rows: std::collections::BTreeMap<K, Vec<usize>> = Default::default();
        for (i, s) in speakers.iter().enumerate() {
            rows.entry(s.clone()).or_default().push(i);
        }
        SpeakerNorm {
            by_speaker: rows
                .into_iter()
                .map(|(s, r)| (s, Scaler::fit(x.select(Axis(0), &r).view())))
                .collect(),
        }
    }

    /// The statistics to standardise a speaker with when theirs are unknown (a lone clip, or
    /// too few recordings to estimate them): per feature, the mean of the speakers' means, and
    /// the root mean square of their scales (the scale of a typical speaker).
    pub fn population(&self) -> Scaler {
        self.population_of(|_| true)
    }

    /// [`SpeakerNorm::population`] of the speakers `keep` accepts (at least one).
    pub fn population_of(&self, keep: impl Fn(&K) -> bool) -> Scaler {
        let kept: Vec<&Scaler> = self
            .by_speaker
            .iter()
            .filter(|(s, _)| keep(s))
            .map(|(_, scaler)| scaler)
            .collect();
        let k = kept.len() as f64;
        let width = kept.first().map_or(0, |s| s.mean.len());
        let mut mean = vec![0.0; width];
        let mut square = vec![0.0; width];
        for scaler in kept {
            let own = scaler.mean.iter().zip(&scaler.scale);
            for ((m, q), (&sm, &ss)) in mean.iter_mut().zip(square.iter_mut()).zip(own) {
                *m += sm / k;
                *q += ss * ss / k;
            }
        }
        Scaler {
            mean,
            scale: square.into_iter().map(f64::sqrt).collect(),
        }
    }

    /// The scaler of speaker `s`, if `fit` saw them.
    pub fn scaler(&self, s: &K) -> Option<&Scaler> {
        self.by_speaker.get(s)
    }

    /// Standardises each row with its speaker's scaler; a speaker not seen by `fit` is an error.
    pub fn apply(&self, x: &mut Array2<f64>, speakers: &[K]) -> Result<(), String> {
        for (row, s) in x.rows_mut().into_iter().zip(speakers) {
            self.by_speaker
                .get(s)
                .ok_or_else(|| format!("no normalisation statistics for speaker {s}"))?
                .transform_row(row);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use proptest::prelude::*;

    #[test]
    fn encoder_uses_code_order_and_drops_excluded() {
        let e = Emotion::canonical;
        let (sad, neutral, angry, calm) = (e("sad"), e("neutral"), e("angry"), e("calm"));
        let enc = LabelEncoder::fit(
            [
                sad.clone(),
                neutral.clone(),
                angry.clone(),
                sad.clone(),
                calm.clone(),
            ],
            std::slice::from_ref(&calm),
        );
        assert_eq!(enc.classes(), &[neutral, sad.clone(), angry.clone()]);
        assert_eq!(enc.encode(&sad), Some(1));
        assert_eq!(enc.encode(&calm), None);
        assert_eq!(enc.decode(2), &angry);
        assert_eq!(enc.labels(), ["neutral", "sad", "angry"]);
    }

    #[test]
    fn scaler_matches_sklearn_on_a_known_case() {
        // sklearn: StandardScaler().fit([[1, 10, 5], [3, 10, 7], [5, 10, 9]])
        // mean_ = [3, 10, 7], scale_ = [1.63299316, 1, 1.63299316]
        let x = array![[1.0, 10.0, 5.0], [3.0, 10.0, 7.0], [5.0, 10.0, 9.0]];
        let s = Scaler::fit(x.view());
        assert_eq!(s.mean, vec![3.0, 10.0, 7.0]);
        assert!((s.scale[0] - (8.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert_eq!(s.scale[1], 1.0);
        let z = s.transform(x.view());
        assert!(z.column(1).iter().all(|&v| v == 0.0));
        assert!((z[[0, 0]] + 1.224_744_871_391_589).abs() < 1e-12);
    }

    #[test]
    fn speaker_norm_centres_each_speaker() {
        let x = array![[1.0, 5.0], [3.0, 5.0], [10.0, 0.0], [14.0, 2.0]];
        let speakers = [1u8, 1, 2, 2];
        let norm = SpeakerNorm::fit(x.view(), &speakers);
        let mut z = x.clone();
        norm.apply(&mut z, &speakers).unwrap();
        assert_eq!(z, array![[-1.0, 0.0], [1.0, 0.0], [-1.0, -1.0], [1.0, 1.0]]);
        assert!(norm.apply(&mut z, &[1, 1, 3, 3]).is_err());
        // Speaker 1: means [2, 5], scales [1, 1 (constant)]; speaker 2: [12, 1], [2, 1].
        let population = norm.population();
        assert_eq!(population.mean, vec![7.0, 3.0]);
        assert_eq!(population.scale, vec![(2.5f64).sqrt(), 1.0]);
    }

    proptest! {
        #[test]
        fn scaling_then_unscaling_is_the_identity(
            rows in proptest::collection::vec(proptest::collection::vec(-1e3f64..1e3, 4), 2..30)
        ) {
            let n = rows.len();
            let x = Array2::from_shape_vec((n, 4), rows.concat()).unwrap();
            let s = Scaler::fit(x.view());
            let back = s.inverse_transform(s.transform(x.view()).view());
            for (a, b) in back.iter().zip(x.iter()) {
                prop_assert!((a - b).abs() <= 1e-9 * (1.0 + b.abs()));
            }
            let z = s.transform(x.view());
            for col in z.columns() {
                let m = col.mean().unwrap();
                prop_assert!(m.abs() < 1e-9);
            }
        }
    }
}
