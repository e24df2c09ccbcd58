//! Waveform augmentations for class balancing: pure functions of a mono `f32` signal (no IO).
//!
//! - [`Transform`] is one concrete augmentation (`noise`, `gain`, `pitch_shift`, `time_stretch`)
//!   with fixed parameters; [`Transform::apply`] maps a signal to a new signal.
//! - [`TransformSpec`] is what a config names: the same kinds, each parameter either a number or
//!   a `[min, max]` range ([`ParamRange`]); [`TransformSpec::sample`] draws a concrete
//!   [`Transform`] per augmented copy.
//! - [`rng_for`] gives every `(seed, item key, copy)` its own deterministic random stream, so the
//!   augmented data do not depend on thread scheduling.
//!
//! `time_stretch` and `pitch_shift` follow librosa 0.11 (`librosa.effects.time_stretch` and
//! `librosa.effects.pitch_shift`) step by step: STFT (`n_fft` 2048, hop 512, periodic Hann,
//! centred with zero padding), `librosa.phase_vocoder`, `librosa.istft(length=...)`, and for
//! `pitch_shift` a resampling back to the original rate. `time_stretch` agrees with librosa run
//! on float64 input to float32 rounding. The resampler is our own Kaiser-windowed sinc (not
//! librosa's default soxr); see [`Transform::PitchShift`].
//!
//! A config lists transforms as, e.g. (TOML):
//!
//! ```toml
//! [augment]
//! transforms = [
//!     { kind = "pitch_shift", semitones = [-2.0, 2.0] },  # uniform in [-2, 2] per copy
//!     { kind = "noise", snr_db = 20 },                    # fixed value
//!     { kind = "time_stretch" },                          # default range [0.9, 1.1]
//! ]
//! ```
//!
//! The files: `transform.rs` ([`Transform`]: one concrete augmentation, its checks and how it
//! is applied), `spec.rs` ([`TransformSpec`] and [`ParamRange`]: what a config names), and one
//! file per waveform transform: `noise.rs`, `gain.rs`, `time_stretch.rs` (the phase vocoder),
//! `pitch_shift.rs`, with the resampler it uses in `resample.rs`.

mod gain;
mod noise;
mod pitch_shift;
mod resample;
mod spec;
#[cfg(test)]
mod test_support;
mod time_stretch;
mod transform;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use self::spec::{ParamRange, TransformSpec};
pub use self::time_stretch::{HOP_LENGTH, N_FFT};
pub use self::transform::Transform;

/// One augmented copy from a chain of specs: samples every spec in order first (one draw each),
/// then applies the sampled transforms in order (noise drawing from the same `rng`). Returns the
/// signal and the transforms applied (for a table's `params` column).
///
/// # Panics
/// If a spec fails [`TransformSpec::check`].
pub fn augment(
    specs: &[TransformSpec],
    y: &[f32],
    sample_rate: u32,
    rng: &mut impl Rng,
) -> (Vec<f32>, Vec<Transform>) {
    let transforms: Vec<Transform> = specs.iter().map(|s| s.sample(rng)).collect();
    let mut out = y.to_vec();
    for t in &transforms {
        out = t.apply(&out, sample_rate, rng);
    }
    (out, transforms)
}

/// 64-bit FNV-1a, written out so the value never changes across Rust versions or platforms.
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The random stream for augmented copy `copy` of the item `key` (e.g. a file's relative path)
/// under the run's `seed`: the same triple always gives the same stream, on any platform and
/// whatever the thread scheduling; different keys or copies give unrelated streams.
///
/// The ChaCha8 seed is `seed` (8 bytes LE) ++ FNV-1a-64 of `key` (8 bytes LE) ++ `copy`
/// (4 bytes LE) ++ the key's byte length (4 bytes LE) ++ `b"augment\0"`.
pub fn rng_for(seed: u64, key: &str, copy: u32) -> ChaCha8Rng {
    let mut s = [0u8; 32];
    s[0..8].copy_from_slice(&seed.to_le_bytes());
    s[8..16].copy_from_slice(&fnv1a64(key.as_bytes()).to_le_bytes());
    s[16..20].copy_from_slice(&copy.to_le_bytes());
    s[20..24].copy_from_slice(&(key.len() as u32).to_le_bytes());
    s[24..32].copy_from_slice(b"augment\0");
    ChaCha8Rng::from_seed(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::augment::test_support::{rich, rng, SR};

    #[test]
    fn rng_for_is_deterministic_and_key_sensitive() {
        let draw = |seed, key: &str, copy| {
            let mut r = rng_for(seed, key, copy);
            (0..4).map(|_| r.random::<u64>()).collect::<Vec<_>>()
        };
        let base = draw(42, "Actor_01/a.wav", 0);
        assert_eq!(base, draw(42, "Actor_01/a.wav", 0));
        assert_ne!(base, draw(43, "Actor_01/a.wav", 0));
        assert_ne!(base, draw(42, "Actor_01/b.wav", 0));
        assert_ne!(base, draw(42, "Actor_01/a.wav", 1));
        assert_ne!(draw(42, "", 0), draw(42, "\0", 0));
        // Pinned: the stream must never change across versions or platforms.
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        // Independent of threads: the same streams drawn concurrently.
        let handles: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(move || draw(42, "Actor_01/a.wav", 0)))
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), base);
        }
    }

    #[test]
    fn augment_chains_and_reports_what_it_did() {
        let specs = vec![
            TransformSpec::Gain {
                db: ParamRange::new(-6.0, 6.0),
            },
            TransformSpec::Noise {
                snr_db: ParamRange::fixed(30.0),
            },
        ];
        let y = rich(8000, f64::from(SR));
        let (a, ta) = augment(&specs, &y, SR, &mut rng_for(9, "k", 2));
        let (b, tb) = augment(&specs, &y, SR, &mut rng_for(9, "k", 2));
        assert_eq!((&a, &ta), (&b, &tb));
        assert_eq!(ta.len(), 2);
        assert_eq!(ta[1], Transform::Noise { snr_db: 30.0 });
        let (c, _) = augment(&specs, &y, SR, &mut rng_for(9, "k", 3));
        assert_ne!(a, c);
    }

    /// Timings for one 3.5 s clip at 48 kHz:
    /// `cargo test --release --lib augment::tests::timing -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn timing() {
        let y = rich(168_000, f64::from(SR));
        for t in [
            Transform::Noise { snr_db: 20.0 },
            Transform::Gain { db: -6.0 },
            Transform::PitchShift { semitones: 2.0 },
            Transform::PitchShift { semitones: -12.0 },
            Transform::PitchShift { semitones: 12.0 },
            Transform::TimeStretch { rate: 0.8 },
            Transform::TimeStretch { rate: 1.25 },
            Transform::TimeStretch { rate: 0.5 },
        ] {
            let mut r = rng();
            let _ = t.apply(&y, SR, &mut r);
            let reps = 10;
            let start = std::time::Instant::now();
            for _ in 0..reps {
                std::hint::black_box(t.apply(&y, SR, &mut r));
            }
            println!(
                "{t}: {:.2} ms",
                start.elapsed().as_secs_f64() * 1e3 / reps as f64
            );
        }
    }
}
