//! `[train]`: what the training sets are made of (excluded classes, augmented copies, per-speaker
//! normalisation, vocal channels).

use serde::{Deserialize, Serialize};

use crate::corpus::ravdess::VocalChannel;
use crate::corpus::Emotion;

/// How training sets use augmented copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AugmentedUse {
    None,
    Balance,
    All,
}

/// `[train]`: what the training sets are made of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Emotions left out of training *and* testing (the original project's trick of dropping a
    /// hard class), by label name after `labels.map`. Default none; reports say when it is on.
    pub exclude_classes: Vec<String>,
    /// How a training set uses the augmented copies of its own files (`augmented.parquet`):
    /// `balance` (default) adds copies to every class with fewer training rows than the
    /// largest, up to its size; `all` adds every copy; `none` adds nothing.
    pub augmented: AugmentedUse,
    /// Seed for choosing which augmented copies balance a training set. Default 42.
    pub seed: u64,
    /// Standardise every feature per speaker before anything else: each speaker's rows (a
    /// speaker is a corpus's speaker: RAVDESS's actor, EmoDB's speaker, ...) are centred and
    /// scaled by that speaker's own mean and standard deviation; a corpus without speakers is
    /// standardised as a whole. Uses no labels, so it is legitimate at test time too, given
    /// several recordings of the test speaker. Default false.
    pub speaker_normalization: bool,
    /// Which RAVDESS recordings train and test, by vocal channel: `"speech"`, `"song"` or
    /// both (default both: every recording extracted). The song archive (`download --song`)
    /// unzips into the same actor folders as the speech archive. Other corpora's recordings
    /// have no vocal channel and are always kept.
    pub vocal_channels: Vec<String>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            exclude_classes: Vec::new(),
            augmented: AugmentedUse::Balance,
            seed: 42,
            speaker_normalization: false,
            vocal_channels: vec!["speech".into(), "song".into()],
        }
    }
}

impl TrainConfig {
    pub fn excluded(&self) -> Result<Vec<Emotion>, String> {
        self.exclude_classes
            .iter()
            .map(|l| Emotion::new(l).map_err(|e| format!("train.exclude_classes: {e}")))
            .collect()
    }

    /// `vocal_channels`, checked: at least one, each `speech` or `song`.
    pub fn channels(&self) -> Result<Vec<VocalChannel>, String> {
        if self.vocal_channels.is_empty() {
            return Err("train.vocal_channels: name at least one of speech, song".into());
        }
        self.vocal_channels
            .iter()
            .map(|c| {
                VocalChannel::from_label(c).ok_or_else(|| {
                    format!("train.vocal_channels: {c:?} is not a vocal channel (speech, song)")
                })
            })
            .collect()
    }

    /// The one vocal channel `vocal_channels` keeps, or `None` when it keeps both (or is
    /// invalid, which [`Config::check`](super::Config::check) rejects before any work).
    pub fn only_channel(&self) -> Option<VocalChannel> {
        let channels = self.channels().ok()?;
        let first = *channels.first()?;
        channels.iter().all(|&c| c == first).then_some(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_channel_is_the_one_channel_kept() {
        let with = |channels: &[&str]| TrainConfig {
            vocal_channels: channels.iter().map(|c| c.to_string()).collect(),
            ..TrainConfig::default()
        };
        assert_eq!(TrainConfig::default().only_channel(), None);
        assert_eq!(with(&["song", "speech"]).only_channel(), None);
        assert_eq!(with(&["song"]).only_channel(), Some(VocalChannel::Song));
        assert_eq!(
            with(&["speech", "speech"]).only_channel(),
            Some(VocalChannel::Speech)
        );
        assert_eq!(with(&["opera"]).only_channel(), None);
        assert!(with(&[]).channels().is_err());
    }
}
