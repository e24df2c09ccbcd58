//! "No voice, no emotion": whether a decoded clip holds anything a voice could have made,
//! judged from its short-time level alone, before any feature is computed.
//!
//! The clip is cut into 25 ms frames every 10 ms (the usual speech-analysis frames). A frame's
//! level is the RMS of its samples after removing the frame's own mean (so a DC offset is no
//! sound), in dBFS (0 dB = a full-scale square wave). A clip has no voice when:
//! - every sample is zero (digital silence), or every frame is constant (a DC offset);
//! - no frame reaches [`FLOOR_DBFS`] (-60 dBFS: 1/1000 of full scale, about 33 steps of 16-bit
//!   PCM; speech recorded at any usable gain sits 20-50 dB above it);
//! - fewer than [`MIN_ACTIVE_S`] (100 ms, about one short syllable) of frames reach it;
//! - or its level is steady: the 95th and 5th percentiles of its frame levels are within
//!   [`MIN_SPREAD_DB`] (6 dB, a factor of 2 in amplitude). Speech rises and falls with its
//!   syllables (several per second, with pauses), by well over that; a constant tone, square
//!   wave, hum or noise does not.
//!
//! These are first principles, not fitted to a corpus; every RAVDESS and EmoDB recording passes
//! (docs/operations.md, "Reliability"). A signal that is not speech but rises and falls (a
//! beep between silences, music) is not caught: this is a floor, not a speech detector.

use super::AudioError;

/// Frame length, seconds.
pub const FRAME_S: f64 = 0.025;
/// Hop between frames, seconds.
pub const HOP_S: f64 = 0.010;
/// Level a frame must reach to count as sound, dBFS.
pub const FLOOR_DBFS: f64 = -60.0;
/// Time above the floor a clip needs, seconds.
pub const MIN_ACTIVE_S: f64 = 0.1;
/// Spread between the 95th and 5th percentile frame levels a clip needs, dB.
pub const MIN_SPREAD_DB: f64 = 6.0;
/// Level given to a frame of digital silence, dBFS (below any 32-bit float signal's).
const SILENT_DB: f64 = -200.0;

/// A clip's short-time levels, summarised.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Activity {
    /// The loudest frame, dBFS.
    pub peak_frame_dbfs: f64,
    /// Time of the frames at or above [`FLOOR_DBFS`], seconds.
    pub active_s: f64,
    /// 95th minus 5th percentile of the frame levels, dB.
    pub spread_db: f64,
    /// Every sample is exactly zero.
    pub digital_silence: bool,
}

/// The frame levels (dBFS) of a mono signal at `sample_rate`; one frame for a clip shorter than
/// a frame.
pub fn frame_levels(samples: &[f32], sample_rate: u32) -> Vec<f64> {
    let frame = ((FRAME_S * f64::from(sample_rate)).round() as usize).max(1);
    let hop = ((HOP_S * f64::from(sample_rate)).round() as usize).max(1);
    let n_frames = if samples.len() <= frame {
        1
    } else {
        1 + (samples.len() - frame) / hop
    };
    (0..n_frames)
        .map(|i| {
            let start = i * hop;
            let x = &samples[start..(start + frame).min(samples.len())];
            if x.is_empty() {
                return SILENT_DB;
            }
            let n = x.len() as f64;
            let mean = x.iter().map(|&s| f64::from(s)).sum::<f64>() / n;
            let power = x
                .iter()
                .map(|&s| (f64::from(s) - mean).powi(2))
                .sum::<f64>()
                / n;
            // Full-scale square wave = 1.0 power = 0 dBFS.
            if power > 0.0 {
                (10.0 * power.log10()).max(SILENT_DB)
            } else {
                SILENT_DB
            }
        })
        .collect()
}

/// Summarises a mono signal's frame levels.
pub fn activity(samples: &[f32], sample_rate: u32) -> Activity {
    let digital_silence = samples.iter().all(|&s| s == 0.0);
    let mut levels = frame_levels(samples, sample_rate);
    let duration = samples.len() as f64 / f64::from(sample_rate);
    let n_active = levels.iter().filter(|&&l| l >= FLOOR_DBFS).count();
    // Each frame stands for one hop of time (the whole clip when it is a single frame).
    let active_s = if levels.len() == 1 {
        if n_active == 1 {
            duration
        } else {
            0.0
        }
    } else {
        (n_active as f64 * HOP_S).min(duration)
    };
    levels.sort_by(f64::total_cmp);
    let at = |q: f64| levels[((levels.len() - 1) as f64 * q).round() as usize];
    Activity {
        peak_frame_dbfs: *levels.last().expect("at least one frame"),
        active_s,
        spread_db: at(0.95) - at(0.05),
        digital_silence,
    }
}

/// `Ok` when the clip may hold a voice; otherwise [`AudioError::NoVoice`] saying which
/// criterion failed, with the measured value.
pub fn check(samples: &[f32], sample_rate: u32) -> Result<Activity, AudioError> {
    let a = activity(samples, sample_rate);
    let reason = if a.digital_silence {
        "digital silence (every sample is 0)".to_string()
    } else if a.peak_frame_dbfs <= SILENT_DB {
        "a constant value for its whole length (a DC offset, no sound)".to_string()
    } else if a.peak_frame_dbfs < FLOOR_DBFS {
        format!(
            "below the {FLOOR_DBFS} dBFS floor for its whole length (loudest frame {:.1} dBFS)",
            a.peak_frame_dbfs
        )
    } else if a.active_s < MIN_ACTIVE_S {
        format!(
            "only {:.0} ms above the {FLOOR_DBFS} dBFS floor ({:.0} ms needed)",
            a.active_s * 1e3,
            MIN_ACTIVE_S * 1e3
        )
    } else if a.spread_db < MIN_SPREAD_DB {
        format!(
            "a steady signal, not speech (its frame levels vary by {:.1} dB; speech varies by \
             {MIN_SPREAD_DB} dB or more)",
            a.spread_db
        )
    } else {
        return Ok(a);
    };
    Err(AudioError::NoVoice(reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SR: u32 = 16000;

    fn syllables(seconds: f64, amplitude: f64) -> Vec<f32> {
        // A 150 Hz tone switched on and off four times a second, as syllables are.
        let n = (seconds * f64::from(SR)) as usize;
        (0..n)
            .map(|i| {
                let t = i as f64 / f64::from(SR);
                let env = (std::f64::consts::PI * 4.0 * t).sin().abs();
                (amplitude * env * (2.0 * std::f64::consts::PI * 150.0 * t).sin()) as f32
            })
            .collect()
    }

    fn reason(samples: &[f32]) -> String {
        check(samples, SR).unwrap_err().to_string()
    }

    #[test]
    fn speech_like_clips_pass_and_the_rest_say_why_not() {
        assert!(check(&syllables(1.0, 0.3), SR).is_ok());
        // Quiet but above the floor: -50 dBFS peaks.
        assert!(check(&syllables(1.0, 0.0045), SR).is_ok());
        assert!(reason(&vec![0.0; 32000]).contains("digital silence"));
        // DC only: no sound once the mean is removed.
        assert!(reason(&vec![0.25; 32000]).contains("a constant value"));
        // DC with a whisper of noise (1 LSB of 16-bit every third sample): below the floor.
        let dc_lsb: Vec<f32> = (0..32000)
            .map(|i| 0.25 + if i % 3 == 0 { 1.0 / 32768.0 } else { 0.0 })
            .collect();
        assert!(reason(&dc_lsb).contains("below the -60 dBFS floor"));
        // One LSB of 16-bit noise-like dither: -90 dBFS.
        let lsb: Vec<f32> = (0..32000)
            .map(|i| if i % 3 == 0 { 1.0 / 32768.0 } else { 0.0 })
            .collect();
        assert!(reason(&lsb).contains("below the -60 dBFS floor"));
        // 10 samples, and 50 ms of syllable.
        assert!(reason(&syllables(0.5, 0.5)[1000..1010]).contains("only 1 ms above"));
        assert!(reason(&syllables(0.05, 0.5)).contains("ms above"));
        // A full-scale square wave: 0 dBFS, perfectly steady.
        let square: Vec<f32> = (0..32000)
            .map(|i| if (i / 40) % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let a = activity(&square, SR);
        assert!(a.peak_frame_dbfs.abs() < 0.1, "{a:?}");
        assert!(reason(&square).contains("steady signal"));
        // A DC step is one frame of sound, not 100 ms.
        let step: Vec<f32> = (0..32000)
            .map(|i| if i < 16000 { 0.0 } else { 0.5 })
            .collect();
        assert!(reason(&step).contains("ms above"));
    }
}
