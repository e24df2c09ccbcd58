//! What a config names: [`TransformSpec`], the transform kinds with each parameter a fixed
//! number or a `[min, max]` range ([`ParamRange`]), sampled into a concrete [`Transform`] per
//! augmented copy; the defaults of parameters left out.

use std::fmt;

use rand::Rng;
use serde::de::{self, IgnoredAny, SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Transform;

/// A parameter in a [`TransformSpec`]: a fixed number (`20`) or a uniform range (`[15, 30]`).
///
/// Written in a config as a number or a two-element array `[min, max]`; serialised back the
/// same way (a number when `min == max`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamRange {
    pub min: f64,
    pub max: f64,
}

impl ParamRange {
    pub fn fixed(v: f64) -> ParamRange {
        ParamRange { min: v, max: v }
    }

    pub fn new(min: f64, max: f64) -> ParamRange {
        ParamRange { min, max }
    }

    /// Draws `min + u * (max - min)` with one `u ~ U[0, 1)` (drawn even for a fixed value, so
    /// the stream layout does not depend on which parameters are ranges), rounded to 3 decimal
    /// places and kept within `[min, max]`. A fixed value comes back unchanged.
    pub fn sample(&self, rng: &mut impl Rng) -> f64 {
        let u: f64 = rng.random();
        let x = self.min + u * (self.max - self.min);
        ((x * 1000.0).round() / 1000.0).clamp(self.min, self.max) + 0.0
    }

    fn check(&self, name: &str) -> Result<(), String> {
        if !(self.min.is_finite() && self.max.is_finite()) {
            return Err(format!(
                "{name} must be finite, got [{}, {}]",
                self.min, self.max
            ));
        }
        if self.min > self.max {
            return Err(format!(
                "{name}: min must not exceed max, got [{}, {}]",
                self.min, self.max
            ));
        }
        Ok(())
    }
}

impl Serialize for ParamRange {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.min == self.max {
            serializer.serialize_f64(self.min)
        } else {
            let mut t = serializer.serialize_tuple(2)?;
            t.serialize_element(&self.min)?;
            t.serialize_element(&self.max)?;
            t.end()
        }
    }
}

impl<'de> Deserialize<'de> for ParamRange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ParamRange, D::Error> {
        struct RangeVisitor;
        impl<'de> Visitor<'de> for RangeVisitor {
            type Value = ParamRange;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or a [min, max] pair of numbers")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ParamRange, E> {
                Ok(ParamRange::fixed(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ParamRange, E> {
                Ok(ParamRange::fixed(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ParamRange, E> {
                Ok(ParamRange::fixed(v as f64))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ParamRange, A::Error> {
                let min: f64 = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let max: f64 = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                let mut n = 2;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                if n != 2 {
                    return Err(de::Error::invalid_length(n, &self));
                }
                Ok(ParamRange { min, max })
            }
        }
        deserializer.deserialize_any(RangeVisitor)
    }
}

fn default_snr_db() -> ParamRange {
    ParamRange::new(15.0, 30.0)
}

fn default_gain_db() -> ParamRange {
    ParamRange::new(-6.0, 6.0)
}

fn default_semitones() -> ParamRange {
    ParamRange::new(-2.0, 2.0)
}

fn default_rate() -> ParamRange {
    ParamRange::new(0.9, 1.1)
}

/// A transform as a config names it: the [`Transform`] kinds with each parameter a number or a
/// `[min, max]` range, sampled per augmented copy by [`TransformSpec::sample`]. A parameter
/// left out takes the default given below. Unknown fields and kinds are rejected.
///
/// ```toml
/// transforms = [
///     { kind = "noise", snr_db = [10, 25] },
///     { kind = "gain", db = -3 },
///     { kind = "pitch_shift" },               # semitones = [-2, 2]
///     { kind = "time_stretch", rate = [0.8, 1.25] },
/// ]
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TransformSpec {
    /// Default `snr_db = [15, 30]`.
    Noise {
        #[serde(default = "default_snr_db")]
        snr_db: ParamRange,
    },
    /// Default `db = [-6, 6]`.
    Gain {
        #[serde(default = "default_gain_db")]
        db: ParamRange,
    },
    /// Default `semitones = [-2, 2]`.
    PitchShift {
        #[serde(default = "default_semitones")]
        semitones: ParamRange,
    },
    /// Default `rate = [0.9, 1.1]`.
    TimeStretch {
        #[serde(default = "default_rate")]
        rate: ParamRange,
    },
}

impl TransformSpec {
    /// The `kind`, as [`Transform::name`].
    pub fn name(&self) -> &'static str {
        self.at(|r| r.min).name()
    }

    /// Validates the range (finite, `min <= max`) and that both ends are valid parameters for
    /// [`Transform::check`] (every valid set is an interval, so the whole range then is).
    pub fn check(&self) -> Result<(), String> {
        let (name, range) = match self {
            TransformSpec::Noise { snr_db } => ("snr_db", snr_db),
            TransformSpec::Gain { db } => ("db", db),
            TransformSpec::PitchShift { semitones } => ("semitones", semitones),
            TransformSpec::TimeStretch { rate } => ("rate", rate),
        };
        range
            .check(name)
            .map_err(|e| format!("{}: {e}", self.name()))?;
        self.at(|r| r.min).check()?;
        self.at(|r| r.max).check()
    }

    /// Draws one concrete transform (one uniform draw from `rng`; see [`ParamRange::sample`]).
    pub fn sample(&self, rng: &mut impl Rng) -> Transform {
        self.at(|r| r.sample(rng))
    }

    fn at(&self, mut pick: impl FnMut(&ParamRange) -> f64) -> Transform {
        match self {
            TransformSpec::Noise { snr_db } => Transform::Noise {
                snr_db: pick(snr_db),
            },
            TransformSpec::Gain { db } => Transform::Gain { db: pick(db) },
            TransformSpec::PitchShift { semitones } => Transform::PitchShift {
                semitones: pick(semitones),
            },
            TransformSpec::TimeStretch { rate } => Transform::TimeStretch { rate: pick(rate) },
        }
    }
}

impl From<Transform> for TransformSpec {
    /// A spec that always yields this transform.
    fn from(t: Transform) -> TransformSpec {
        match t {
            Transform::Noise { snr_db } => TransformSpec::Noise {
                snr_db: ParamRange::fixed(snr_db),
            },
            Transform::Gain { db } => TransformSpec::Gain {
                db: ParamRange::fixed(db),
            },
            Transform::PitchShift { semitones } => TransformSpec::PitchShift {
                semitones: ParamRange::fixed(semitones),
            },
            Transform::TimeStretch { rate } => TransformSpec::TimeStretch {
                rate: ParamRange::fixed(rate),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::augment::rng_for;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Section {
        transforms: Vec<TransformSpec>,
    }

    #[test]
    fn specs_deserialise_from_toml_with_defaults() {
        let s: Section = toml::from_str(
            r#"transforms = [
                { kind = "pitch_shift", semitones = [-2.0, 2.0] },
                { kind = "noise", snr_db = 20 },
                { kind = "gain", db = [-3, 3.5] },
                { kind = "time_stretch" },
                { kind = "noise" },
            ]"#,
        )
        .unwrap();
        assert_eq!(
            s.transforms,
            vec![
                TransformSpec::PitchShift {
                    semitones: ParamRange::new(-2.0, 2.0)
                },
                TransformSpec::Noise {
                    snr_db: ParamRange::fixed(20.0)
                },
                TransformSpec::Gain {
                    db: ParamRange::new(-3.0, 3.5)
                },
                TransformSpec::TimeStretch {
                    rate: ParamRange::new(0.9, 1.1)
                },
                TransformSpec::Noise {
                    snr_db: ParamRange::new(15.0, 30.0)
                },
            ]
        );
        for spec in &s.transforms {
            spec.check().unwrap();
        }
        let bad = [
            (
                r#"transforms = [{ kind = "noise", snr = 20 }]"#,
                "unknown field",
            ),
            (r#"transforms = [{ kind = "reverb" }]"#, "unknown variant"),
            (r#"transforms = [{ snr_db = 20 }]"#, "kind"),
            (
                r#"transforms = [{ kind = "gain", db = [1.0] }]"#,
                "[min, max]",
            ),
            (
                r#"transforms = [{ kind = "gain", db = [1, 2, 3] }]"#,
                "[min, max]",
            ),
            (
                r#"transforms = [{ kind = "gain", db = "loud" }]"#,
                "[min, max]",
            ),
        ];
        for (text, needle) in bad {
            let e = toml::from_str::<Section>(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
        // Concrete transforms too, and JSON round trips.
        let t: Transform = toml::from_str(
            r#"kind = "time_stretch"
rate = 1.1"#,
        )
        .unwrap();
        assert_eq!(t, Transform::TimeStretch { rate: 1.1 });
        assert!(toml::from_str::<Transform>("kind = \"gain\"\ndb = 1\nx = 2").is_err());
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#"{"kind":"time_stretch","rate":1.1}"#);
        for spec in &s.transforms {
            let back: TransformSpec =
                serde_json::from_str(&serde_json::to_string(spec).unwrap()).unwrap();
            assert_eq!(&back, spec);
        }
    }

    #[test]
    fn sampling_stays_in_range_and_is_deterministic() {
        let spec = TransformSpec::PitchShift {
            semitones: ParamRange::new(-2.0, 2.0),
        };
        let mut r = rng_for(3, "x", 0);
        let drawn: Vec<Transform> = (0..500).map(|_| spec.sample(&mut r)).collect();
        let values: Vec<f64> = drawn
            .iter()
            .map(|t| match t {
                Transform::PitchShift { semitones } => *semitones,
                _ => unreachable!(),
            })
            .collect();
        assert!(values.iter().all(|v| (-2.0..=2.0).contains(v)));
        assert!(values.iter().any(|&v| v < -1.5) && values.iter().any(|&v| v > 1.5));
        // Three decimals at most, so params() stays short and exact.
        for t in &drawn {
            assert!(
                t.params().len() <= "semitones=-1.234".len(),
                "{}",
                t.params()
            );
            t.check().unwrap();
        }
        let mut r2 = rng_for(3, "x", 0);
        assert_eq!(spec.sample(&mut r2), drawn[0]);
        // A fixed value comes back exactly.
        let fixed = TransformSpec::from(Transform::TimeStretch { rate: 1.0 / 3.0 });
        assert_eq!(
            fixed.sample(&mut r2),
            Transform::TimeStretch { rate: 1.0 / 3.0 }
        );
    }
}
