//! Time-domain frame features and silence trimming, as librosa 0.11 computes them:
//! - `librosa.feature.rms(y=y)`: centred frames (`frame_length // 2` zeros each side), root
//!   mean square, **in float32** (librosa's `dtype=np.float32` default). The float32 arithmetic
//!   is reproduced bit for bit: samples squared in float32, summed with numpy's pairwise
//!   summation in float32, divided by the frame length, square-rooted in float32;
//! - `librosa.feature.zero_crossing_rate(y)`: centred frames padded with `mode="edge"` (the first
//!   and last samples repeated, unlike the STFT's zeros), the fraction of the frame's samples
//!   whose sign bit differs from the previous sample's (values within 1e-10 of zero count as
//!   +0; the frame's first sample never counts);
//! - `librosa.effects.trim(y, top_db)`: the span from the first to the last frame whose RMS is
//!   within `top_db` of the loudest frame's.
//!
//! With `frame_length = n_fft` and `hop = hop_length` both give `1 + len / hop` frames, the
//! STFT's count.

/// numpy's pairwise summation (`pairwise_sum` in `loops_utils.h.src`) in float32: blocks of at
/// most 128 summed with 8 accumulators, larger runs split in two at a multiple of 8.
pub fn pairwise_sum_f32(a: &[f32]) -> f32 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0f32;
        for &v in a {
            res += v;
        }
        res
    } else if n <= 128 {
        let mut r = [0.0f32; 8];
        r.copy_from_slice(&a[..8]);
        let full = n - n % 8;
        let mut i = 8;
        while i < full {
            for (acc, &v) in r.iter_mut().zip(&a[i..i + 8]) {
                *acc += v;
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &v in &a[full..] {
            res += v;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum_f32(&a[..n2]) + pairwise_sum_f32(&a[n2..])
    }
}

/// `librosa.feature.rms(y=y, frame_length, hop_length)` (centred, zero padding), one float32
/// value per frame, exactly as librosa's float32 computation gives it.
pub fn rms_f32(y: &[f32], frame_length: usize, hop: usize) -> Vec<f32> {
    let half = frame_length / 2;
    let padded_len = y.len() + 2 * half;
    let n_frames = 1 + (padded_len - frame_length) / hop;
    // Squares of the zero-padded signal, in float32 (np.square(x, dtype=np.float32)).
    let mut squares = vec![0.0f32; padded_len];
    for (s, &v) in squares[half..half + y.len()].iter_mut().zip(y) {
        *s = v * v;
    }
    (0..n_frames)
        .map(|t| {
            let frame = &squares[t * hop..t * hop + frame_length];
            // np.mean: add.reduce from the identity 0, then a float64 division by the intp
            // count, stored in float32.
            let sum = 0.0f32 + pairwise_sum_f32(frame);
            let power = (f64::from(sum) / frame_length as f64) as f32;
            power.sqrt()
        })
        .collect()
}

/// `librosa.feature.zero_crossing_rate(y, frame_length, hop_length)` (centred, edge padding).
pub fn zero_crossing_rate(y: &[f32], frame_length: usize, hop: usize) -> Vec<f64> {
    const THRESHOLD: f64 = 1e-10;
    if y.is_empty() {
        return Vec::new();
    }
    let half = frame_length / 2;
    let n_frames = 1 + (y.len() + 2 * half - frame_length) / hop;
    // librosa's _zc_stencil: |x| <= threshold becomes 0 (sign bit clear), then sign bits are
    // compared with the previous sample's.
    let negative = |v: f32| {
        let v = f64::from(v);
        v < -THRESHOLD
    };
    // before[j]: crossings between y[k - 1] and y[k] for 1 <= k <= j. The edge padding repeats
    // y[0] and y[len - 1], so it adds no crossing: a frame counts the crossings of the part of
    // y it covers.
    let mut before = Vec::with_capacity(y.len());
    let mut count = 0u32;
    let mut prev = negative(y[0]);
    let mut finite = y[0].is_finite();
    before.push(0);
    for &v in &y[1..] {
        let s = negative(v);
        count += u32::from(s != prev);
        prev = s;
        finite &= v.is_finite();
        before.push(count);
    }
    if !finite {
        // librosa refuses non-finite audio (util.valid_audio); NaN makes the caller say so.
        return vec![f64::NAN; n_frames];
    }
    let last = y.len() - 1;
    (0..n_frames)
        .map(|t| {
            // The frame covers padded samples [t hop, t hop + frame_length), i.e. y indices
            // from t hop - half to t hop - half + frame_length - 1, clamped to y.
            let a = (t * hop).saturating_sub(half).min(last);
            let b = (t * hop + frame_length - 1).saturating_sub(half).min(last);
            f64::from(before[b] - before[a]) / frame_length as f64
        })
        .collect()
}

/// `librosa.effects.trim(y, top_db=top_db, frame_length, hop_length)`'s `[start, end)` sample
/// span: frames whose RMS is more than `-top_db` dB relative to the loudest frame
/// (`amplitude_to_db(rms, ref=np.max, top_db=None)`, amin 1e-5) are non-silent; the span runs
/// from `first * hop` to `min(len, (last + 1) * hop)`. `None` when no frame is non-silent or the
/// span is empty (librosa would return an empty signal).
///
/// librosa evaluates the decibels in float32; here the float32 RMS and its float32 square are
/// reproduced exactly but the logarithms are taken in float64, so a frame within about 1e-5 dB
/// of the threshold could be classified differently.
pub fn nonsilent_span(
    y: &[f32],
    top_db: f64,
    frame_length: usize,
    hop: usize,
) -> Option<(usize, usize)> {
    if y.is_empty() {
        return None;
    }
    let rms = rms_f32(y, frame_length, hop);
    // amplitude_to_db: power = np.square(rms) in float32, ref = max(rms) ** 2 in float32,
    // amin = 1e-5 ** 2 as a float32 (numpy 2 keeps the weak Python float at float32).
    let amin = 1e-5f64.powi(2) as f32;
    let reference = rms.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let ref_db = 10.0 * f64::from((reference * reference).max(amin)).log10();
    let threshold = -(top_db as f32) as f64;
    let loud = |r: f32| 10.0 * f64::from((r * r).max(amin)).log10() - ref_db > threshold;
    let first = rms.iter().position(|&r| loud(r))?;
    let last = rms.iter().rposition(|&r| loud(r))?;
    let start = first * hop;
    let end = y.len().min((last + 1) * hop);
    (start < end).then_some((start, end))
}

/// `librosa.effects.trim(y, top_db=top_db, frame_length=frame_length, hop_length=hop)`'s
/// `[start, end)` span of `y` (see [`nonsilent_span`]): from the first to the last frame whose
/// RMS is within `top_db` dB of the loudest frame's. When that would leave nothing (librosa
/// returns an empty signal then), the whole signal: `(0, y.len())`.
pub fn trim(y: &[f32], top_db: f64, frame_length: usize, hop: usize) -> (usize, usize) {
    nonsilent_span(y, top_db, frame_length, hop).unwrap_or((0, y.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(n: usize, period: f64, amp: f64) -> Vec<f32> {
        (0..n)
            .map(|i| (amp * (2.0 * std::f64::consts::PI * i as f64 / period).sin()) as f32)
            .collect()
    }

    #[test]
    fn pairwise_sum_matches_exact_sums_and_block_structure() {
        let v: Vec<f32> = (1..=1000).map(|i| i as f32).collect();
        assert_eq!(pairwise_sum_f32(&v), 500_500.0);
        assert_eq!(pairwise_sum_f32(&v[..5]), 15.0);
        assert_eq!(pairwise_sum_f32(&[]), 0.0);
        // 1 followed by fifteen 2^-24: added one by one in float32 each term is lost (ties to
        // even), 1.0. numpy's 8 accumulators lose only the one added to 1 directly.
        let e = 2f32.powi(-24);
        let mut v = vec![1.0f32];
        v.extend(std::iter::repeat_n(e, 15));
        assert_eq!(v.iter().fold(0.0f32, |s, x| s + x), 1.0);
        assert_eq!(pairwise_sum_f32(&v), 1.0 + 14.0 * e);
    }

    #[test]
    fn rms_of_a_sine_is_amplitude_over_root_two() {
        // A whole number of periods per frame away from the padded edges.
        let y = sine(48_000, 64.0, 0.5);
        let rms = rms_f32(&y, 2048, 512);
        assert_eq!(rms.len(), 1 + 48_000 / 512);
        for &r in &rms[4..rms.len() - 5] {
            assert!((f64::from(r) - 0.5 / 2f64.sqrt()).abs() < 1e-5, "{r}");
        }
        // The first frame is half padding: its mean square is half.
        assert!((f64::from(rms[0]) - 0.5 / 2.0).abs() < 1e-3, "{}", rms[0]);
    }

    #[test]
    fn zcr_of_a_square_wave() {
        // Period 64 samples: +a for 32, -a for 32 -> 2 crossings per 64 samples.
        let y: Vec<f32> = (0..20_000)
            .map(|i| if (i / 32) % 2 == 0 { 0.25 } else { -0.25 })
            .collect();
        let z = zero_crossing_rate(&y, 2048, 512);
        assert_eq!(z.len(), 1 + 20_000 / 512);
        // An interior frame of 2048 samples starting at a multiple of 512 (a multiple of 64)
        // sees 64 sign changes among its 2047 consecutive pairs, minus the one at its start.
        for &v in &z[3..z.len() - 3] {
            assert_eq!(v, 63.0 / 2048.0);
        }
        // Edge padding repeats the first sample: the first frame is 1024 copies of y[0], then
        // y[0..1024], which changes sign at 32, 64, ..., 992.
        assert_eq!(z[0], 31.0 / 2048.0);
        // Silence: values within 1e-10 of zero count as +0, so no crossings.
        assert!(zero_crossing_rate(&[0.0, -0.0, 1e-12, -1e-12], 4, 1)
            .iter()
            .all(|&v| v == 0.0));
    }

    #[test]
    fn trim_finds_the_loud_span() {
        let mut y = vec![0.0f32; 10_000];
        y.extend(sine(20_000, 50.0, 0.5));
        y.extend(vec![0.0f32; 10_000]);
        let (start, end) = nonsilent_span(&y, 60.0, 2048, 512).unwrap();
        // The first frame reaching the tone is centred at 10000 - 1024 or later; frames are
        // counted from 0 at hop 512, so start is a multiple of 512 just below 10000 - 1024.
        assert_eq!(start % 512, 0);
        assert!(start <= 10_000 && start + 2048 > 10_000, "{start}");
        assert!((30_000..=30_000 + 1024 + 512).contains(&end), "{end}");
        // All loud: the whole signal.
        let tone = sine(5_000, 50.0, 0.5);
        assert_eq!(nonsilent_span(&tone, 60.0, 2048, 512), Some((0, 5_000)));
        // All zero: every frame is at the reference, nothing is trimmed (as librosa).
        assert_eq!(
            nonsilent_span(&[0.0; 3000], 30.0, 2048, 512),
            Some((0, 3000))
        );
    }
}
