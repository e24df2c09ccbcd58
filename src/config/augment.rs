//! `[augment]`: which files get waveform-augmented copies, how many, and by which transforms.

use serde::{Deserialize, Serialize};

use crate::augment::{ParamRange, TransformSpec};

/// Which files get augmented copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AugmentClasses {
    /// Files of the classes with fewer files than the largest class in the corpus (RAVDESS:
    /// neutral, which has no strong intensity). Uses labels only, never features.
    Minority,
    /// Every file.
    All,
}

/// `[augment]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AugmentConfig {
    /// Make augmented copies at all. Default true.
    pub enabled: bool,
    /// Which files: "minority" (default) or "all".
    pub classes: AugmentClasses,
    /// Copies per file. Default 1 (enough to balance RAVDESS's neutral class).
    pub copies: u32,
    /// Each copy applies one of these, picked at random; parameters given as `[min, max]` are
    /// drawn per copy. Default: noise at 15-30 dB SNR, pitch shift of -2..2 semitones, time
    /// stretch 0.9-1.1, gain -6..6 dB.
    pub transforms: Vec<TransformSpec>,
    /// Seed; each copy's random stream depends only on (seed, file, copy). Default 42.
    pub seed: u64,
}

impl Default for AugmentConfig {
    fn default() -> Self {
        AugmentConfig {
            enabled: true,
            classes: AugmentClasses::Minority,
            copies: 1,
            transforms: vec![
                TransformSpec::Noise {
                    snr_db: ParamRange::new(15.0, 30.0),
                },
                TransformSpec::PitchShift {
                    semitones: ParamRange::new(-2.0, 2.0),
                },
                TransformSpec::TimeStretch {
                    rate: ParamRange::new(0.9, 1.1),
                },
                TransformSpec::Gain {
                    db: ParamRange::new(-6.0, 6.0),
                },
            ],
            seed: 42,
        }
    }
}

impl AugmentConfig {
    pub fn check(&self) -> Result<(), String> {
        if self.enabled && self.transforms.is_empty() {
            return Err(
                "augment.transforms: list at least one transform, or set enabled = false".into(),
            );
        }
        for (i, t) in self.transforms.iter().enumerate() {
            t.check()
                .map_err(|e| format!("augment.transforms[{i}]: {e}"))?;
        }
        if self.copies > 100 {
            return Err(format!("augment.copies: at most 100, got {}", self.copies));
        }
        Ok(())
    }
}
