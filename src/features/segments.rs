//! Segment rows: windows of a recording's frames ([`SegmentScale`], [`segment_windows`]), each
//! pooled into a row of its own, at one or several scales from one pass over the signal
//! ([`Extractor::extract_scales`]).

use serde::{Deserialize, Serialize};

use super::extractor::{Extractor, FeatureError, Features};
use super::stats;

/// Windows of a recording's frames that each become a row: `seconds` long, one every
/// `hop_seconds` (default half a window), plus one ending at the last frame
/// ([`segment_windows`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentScale {
    pub seconds: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hop_seconds: Option<f64>,
}

impl SegmentScale {
    /// The hop in seconds, the default spelled out.
    pub fn hop(&self) -> f64 {
        self.hop_seconds.unwrap_or(self.seconds / 2.0)
    }

    /// The same windows (an unset hop equals half a window).
    pub fn same_as(&self, other: &SegmentScale) -> bool {
        self.seconds == other.seconds && self.hop() == other.hop()
    }

    /// Rejects a length or hop that is not a positive, finite number of seconds: the field
    /// (`seconds`, `hop_seconds`) and why.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        for (name, value) in [
            ("seconds", Some(self.seconds)),
            ("hop_seconds", self.hop_seconds),
        ] {
            if let Some(s) = value {
                if !(s.is_finite() && s > 0.0) {
                    return Err((
                        name,
                        format!("must be a positive, finite number of seconds, got {s}"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// What names this scale's tables: `0.2s_hop_0.1s`.
    pub fn tag(&self) -> String {
        format!("{}s_hop_{}s", self.seconds, self.hop())
    }
}

impl std::fmt::Display for SegmentScale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} s windows every {} s", self.seconds, self.hop())
    }
}

/// The windows `[start, end)` of `w` frames, one every `h` frames, over `n` frames; when the
/// last does not reach the end, one more ends with the last frame; when `n <= w`, one window
/// of all `n` frames (none when `n == 0`).
pub fn segment_windows(n: usize, w: usize, h: usize) -> Vec<(usize, usize)> {
    assert!(w >= 1 && h >= 1, "windows need a length and a hop");
    if n <= w {
        return if n == 0 { Vec::new() } else { vec![(0, n)] };
    }
    let mut out: Vec<(usize, usize)> = (0..=(n - w) / h).map(|i| (i * h, i * h + w)).collect();
    if out.last().is_some_and(|&(_, end)| end < n) {
        out.push((n - w, n));
    }
    out
}

impl Extractor {
    /// The segment length and hop in frames (each at least 1), when `segment_seconds` is set.
    pub fn segment_frames(&self) -> Option<(usize, usize)> {
        Some(self.scale_frames(&self.params.segment_scale()?))
    }

    /// A scale's window length and hop in frames of `hop_length` (each at least 1).
    pub fn scale_frames(&self, scale: &SegmentScale) -> (usize, usize) {
        let frames = |s: f64| {
            ((s * f64::from(self.sample_rate) / self.params.hop_length as f64).round() as usize)
                .max(1)
        };
        (frames(scale.seconds), frames(scale.hop()))
    }

    /// Pooled features of each segment of a mono signal: [`Extractor::extract_all`]'s
    /// segments, or, without `segment_seconds`, one segment: [`Extractor::extract`]'s result.
    pub fn extract_segments(&self, y: &[f32]) -> Result<Vec<Features>, FeatureError> {
        if self.params.segment_seconds.is_none() {
            return Ok(vec![self.extract(y)?]);
        }
        Ok(self.extract_all(y)?.1)
    }

    /// The whole signal's pooled features and, when `segment_seconds` is set, each segment's
    /// (else none): [`Extractor::extract_scales`] at that one scale.
    pub fn extract_all(&self, y: &[f32]) -> Result<(Features, Vec<Features>), FeatureError> {
        let Some(scale) = self.params.segment_scale() else {
            return Ok((self.extract(y)?, Vec::new()));
        };
        let (whole, mut scales) = self.extract_scales(y, &[scale])?;
        Ok((whole, scales.pop().expect("one scale")))
    }

    /// The whole signal's pooled features and, for each scale, each segment's. The frames of
    /// the (trimmed) signal are computed once and cut into the windows of [`segment_windows`]
    /// (a scale's `seconds` long, every `hop_seconds`, in frames of `hop_length`), each pooled
    /// as [`Extractor::extract`] pools a whole signal. A segment's `span` runs from its first
    /// frame's centre to its last frame's end (`hop_length` samples on), within the signal's
    /// span; `n_frames` is its frame count; `tuning` is the whole signal's. The
    /// `segment_seconds` of the parameters plays no part here.
    pub fn extract_scales(
        &self,
        y: &[f32],
        scales: &[SegmentScale],
    ) -> Result<(Features, Vec<Vec<Features>>), FeatureError> {
        if scales.is_empty() {
            return Ok((self.extract(y)?, Vec::new()));
        }
        let frames = self.frames_with(y, false)?;
        let n = frames.families.first().map_or(0, |(_, m)| m.nrows());
        let hop = self.params.hop_length;
        let (s0, s1) = frames.span;
        let pool = |start: usize, end: usize| -> Result<Features, FeatureError> {
            let mut values = Vec::new();
            for (family, matrix) in &frames.families {
                let at = values.len();
                let window = matrix.slice(ndarray::s![start..end, ..]);
                stats::pool_into(window, &self.params.stats, &mut values);
                if values[at..].iter().any(|v| !v.is_finite()) {
                    return Err(FeatureError::NonFinite(family.name()));
                }
            }
            Ok(Features {
                values,
                n_frames: end - start,
                tuning: frames.tuning,
                span: ((s0 + start * hop).min(s1), (s0 + end * hop).min(s1)),
            })
        };
        let whole = Features {
            span: frames.span,
            ..pool(0, n)?
        };
        let segments = scales
            .iter()
            .map(|scale| {
                let (w, h) = self.scale_frames(scale);
                segment_windows(n, w, h)
                    .into_iter()
                    .map(|(start, end)| pool(start, end))
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((whole, segments))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{stats, Family, FeatureParams, Stat};

    #[test]
    fn segment_windows_cover_every_frame_with_an_end_aligned_last() {
        assert_eq!(segment_windows(0, 4, 2), vec![]);
        assert_eq!(segment_windows(3, 4, 2), vec![(0, 3)]);
        assert_eq!(segment_windows(4, 4, 2), vec![(0, 4)]);
        assert_eq!(segment_windows(8, 4, 2), vec![(0, 4), (2, 6), (4, 8)]);
        assert_eq!(
            segment_windows(9, 4, 2),
            vec![(0, 4), (2, 6), (4, 8), (5, 9)]
        );
        assert_eq!(segment_windows(10, 4, 4), vec![(0, 4), (4, 8), (6, 10)]);
    }

    /// One second of a sine whose frequency rises from `f0` Hz by `sweep` Hz, amplitude 0.3.
    fn chirp(sr: usize, f0: f64, sweep: f64) -> Vec<f32> {
        (0..sr)
            .map(|i| {
                let t = i as f64 / sr as f64;
                (0.3 * (2.0 * std::f64::consts::PI * (f0 + sweep * t) * t).sin()) as f32
            })
            .collect()
    }

    #[test]
    fn several_scales_from_one_pass_equal_each_scale_alone() {
        let sr = 16_000;
        let y = chirp(sr, 150.0, 400.0);
        let p = FeatureParams {
            families: vec![Family::Mfcc, Family::Rms, Family::Zcr],
            stats: vec![Stat::Mean, Stat::Std],
            segment_seconds: Some(0.25),
            ..FeatureParams::default()
        };
        let coarse = p.segment_scale().unwrap();
        assert_eq!(coarse.hop(), 0.125);
        let fine = SegmentScale {
            seconds: 0.1,
            hop_seconds: Some(0.1),
        };
        assert_eq!(fine.tag(), "0.1s_hop_0.1s");
        assert!(coarse.same_as(&SegmentScale {
            seconds: 0.25,
            hop_seconds: Some(0.125)
        }));
        assert!(!coarse.same_as(&fine));
        let ex = Extractor::new(&p, sr as u32);
        let (whole, scales) = ex.extract_scales(&y, &[coarse, fine]).unwrap();
        assert_eq!(whole, ex.extract_all(&y).unwrap().0);
        assert_eq!(scales[0], ex.extract_all(&y).unwrap().1);
        let alone = Extractor::new(&p.with_segment_scale(Some(fine)), sr as u32);
        assert_eq!(scales[1], alone.extract_all(&y).unwrap().1);
        // 0.1 s of 512-sample hops at 16 kHz: 3 frames, every 3.
        assert_eq!(alone.segment_frames(), Some((3, 3)));
        assert!(scales[1].len() > scales[0].len());
        // No scale: the whole signal alone.
        let (only, none) = ex.extract_scales(&y, &[]).unwrap();
        assert!(none.is_empty());
        assert_eq!(
            only,
            Extractor::new(&p.with_segment_scale(None), sr as u32)
                .extract(&y)
                .unwrap()
        );
    }

    #[test]
    fn segments_pool_windows_of_the_whole_signals_frames() {
        let sr = 16_000;
        let y = chirp(sr, 200.0, 300.0);
        let p = FeatureParams {
            families: vec![Family::Mfcc, Family::Chroma, Family::LogMel, Family::Rms],
            stats: vec![Stat::Mean, Stat::Std],
            segment_seconds: Some(0.25),
            segment_hop_seconds: Some(0.125),
            ..FeatureParams::default()
        };
        let ex = Extractor::new(&p, sr as u32);
        // 0.25 s of 512-sample hops at 16 kHz: 8 frames, every 4.
        assert_eq!(ex.segment_frames(), Some((8, 4)));
        let segments = ex.extract_segments(&y).unwrap();
        let frames = ex.frames(&y).unwrap();
        let n = frames.families[0].1.nrows();
        let windows = segment_windows(n, 8, 4);
        assert_eq!(segments.len(), windows.len());
        for (seg, &(a, b)) in segments.iter().zip(&windows) {
            let mut expected = Vec::new();
            for (_, m) in &frames.families {
                stats::pool_into(m.slice(ndarray::s![a..b, ..]), &p.stats, &mut expected);
            }
            assert_eq!(seg.values, expected);
            assert_eq!(seg.n_frames, b - a);
            assert_eq!(seg.span, ((a * 512).min(y.len()), (b * 512).min(y.len())));
        }
        // The whole signal pooled beside its segments: what extract gives.
        let (whole, again) = ex.extract_all(&y).unwrap();
        assert_eq!(again, segments);
        let unsegmented = FeatureParams {
            segment_seconds: None,
            segment_hop_seconds: None,
            ..p.clone()
        };
        assert_eq!(
            whole,
            Extractor::new(&unsegmented, sr as u32).extract(&y).unwrap()
        );
        // A window longer than the signal: one segment, the whole signal's features.
        let long = FeatureParams {
            segment_seconds: Some(5.0),
            ..p.clone()
        };
        let one = Extractor::new(&long, sr as u32)
            .extract_segments(&y)
            .unwrap();
        let whole = Extractor::new(
            &FeatureParams {
                segment_seconds: None,
                segment_hop_seconds: None,
                ..p.clone()
            },
            sr as u32,
        )
        .extract(&y)
        .unwrap();
        assert_eq!(one, vec![whole]);
        // The hop defaults to half a segment; a hop without a length is refused.
        let half = FeatureParams {
            segment_hop_seconds: None,
            ..p.clone()
        };
        assert_eq!(
            Extractor::new(&half, sr as u32).segment_frames(),
            Some((8, 4))
        );
        let bad = FeatureParams {
            segment_seconds: None,
            ..p.clone()
        };
        assert_eq!(bad.check().unwrap_err().key, "segment_hop_seconds");
        let bad = FeatureParams {
            segment_seconds: Some(0.0),
            ..p
        };
        assert_eq!(bad.check().unwrap_err().key, "segment_seconds");
    }
}
