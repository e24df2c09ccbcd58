//! Tests of the whole extractor: every family with every statistic, the two front-end
//! precisions, the MFCC-of-the-mean shortcut, trimming, and signals too short for a family.

use ndarray::Axis;

use super::*;

pub(super) fn tone(sr: usize, n: usize, hz: f64, amp: f64) -> Vec<f32> {
    (0..n)
        .map(|i| (amp * (2.0 * std::f64::consts::PI * hz * i as f64 / sr as f64).sin()) as f32)
        .collect()
}

#[test]
fn pure_tone_chroma_peaks_at_its_pitch_class() {
    let sr = 22050;
    let y: Vec<f32> = (0..sr)
        .map(|i| (0.5 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / sr as f64).sin()) as f32)
        .collect();
    let ex = Extractor::new(&FeatureParams::default(), sr as u32);
    let f = ex.extract(&y).unwrap();
    let chroma = &f.values[40..52];
    let argmax = (0..12)
        .max_by(|&a, &b| chroma[a].total_cmp(&chroma[b]))
        .unwrap();
    assert_eq!(argmax, 9, "A is pitch class 9 counting from C: {chroma:?}");
    assert!(f.tuning.abs() < 0.05, "{}", f.tuning);
}

#[test]
fn mean_mfcc_by_the_dct_of_the_mean_is_the_mean_of_the_mfcc_frames() {
    let sr = 16_000;
    let mut y = tone(sr, 20_000, 300.0, 0.2);
    for (i, v) in y.iter_mut().enumerate() {
        *v += (0.02 * ((i * 7919 % 1000) as f64 / 1000.0 - 0.5)) as f32;
    }
    let ex = Extractor::new(&FeatureParams::default(), sr as u32);
    assert_eq!(FeatureParams::default().stats, [Stat::Mean]);
    let pooled = ex.extract(&y).unwrap();
    let frames = ex.frames(&y).unwrap();
    let mfcc = frames.get(Family::Mfcc).unwrap();
    assert!(mfcc.nrows() > 1);
    let mean = mfcc.mean_axis(Axis(0)).unwrap();
    let scale = mean.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let mut differ = false;
    for (x, y) in mean.iter().zip(&pooled.values[..40]) {
        assert!((x - y).abs() <= 1e-12 * scale, "{x} vs {y}");
        differ |= x != y;
    }
    // Rounding differs somewhere, so the shortcut ran.
    assert!(differ);
}

#[test]
fn float32_front_end_is_close_to_float64() {
    let sr = 22_050;
    let mut y = tone(sr, 30_000, 440.0, 0.3);
    for (i, v) in y.iter_mut().enumerate() {
        *v += (0.05 * ((i * 7919 % 1000) as f64 / 1000.0 - 0.5)) as f32;
    }
    let f64_params = FeatureParams {
        precision: Precision::F64,
        ..FeatureParams::default()
    };
    let a = Extractor::new(&f64_params, sr as u32).extract(&y).unwrap();
    let b = Extractor::new(&FeatureParams::default(), sr as u32)
        .extract(&y)
        .unwrap();
    assert_eq!(FeatureParams::default().precision, Precision::F32);
    assert_ne!(a.values, b.values, "the two precisions ran the same code");
    assert_eq!(a.tuning, b.tuning);
    let (mfcc, rest) = (&a.values[..40], &a.values[40..]);
    let scale = mfcc.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (x, y) in mfcc.iter().zip(&b.values[..40]) {
        assert!((x - y).abs() <= 1e-5 * scale, "mfcc {x} vs {y}");
    }
    for (x, y) in rest.iter().zip(&b.values[40..]) {
        assert!((x - y).abs() <= 1e-4 * x.abs().max(1e-6), "{x} vs {y}");
    }
    // The families that read the quietest bins take the f64 front end.
    for family in [Family::SpectralFlatness, Family::SpectralContrast] {
        let p = FeatureParams {
            families: vec![Family::Mfcc, family],
            ..FeatureParams::default()
        };
        assert_eq!(p.front_end_precision(), Precision::F64, "{family}");
    }
}

#[test]
fn every_family_extracts_with_every_stat() {
    let sr = 48_000;
    let y = tone(sr, 24_000, 440.0, 0.4);
    let p = FeatureParams {
        families: Family::ALL.to_vec(),
        stats: Stat::ALL.to_vec(),
        ..FeatureParams::default()
    };
    let ex = Extractor::new(&p, sr as u32);
    let f = ex.extract(&y).unwrap();
    assert_eq!(f.values.len(), p.feature_names().len());
    assert_eq!(f.span, (0, y.len()));
    let frames = ex.frames(&y).unwrap();
    for (family, m) in &frames.families {
        assert_eq!(m.nrows(), f.n_frames, "{family}");
        assert_eq!(m.ncols(), p.dims(*family), "{family}");
    }
    // The default families' values are unchanged by the others being computed too (in the
    // f64 front end that spectral_contrast and spectral_flatness take); the MFCC means to
    // rounding, since pooling by the mean alone takes the DCT of the mean log-mel frame.
    assert_eq!(p.front_end_precision(), Precision::F64);
    let f64_default = FeatureParams {
        precision: Precision::F64,
        ..FeatureParams::default()
    };
    let default = Extractor::new(&f64_default, sr as u32).extract(&y).unwrap();
    let names = p.feature_names();
    let default_names = FeatureParams::default().feature_names();
    for (name, v) in default_names.iter().zip(&default.values) {
        let i = names.iter().position(|n| n == name).unwrap();
        if name.starts_with("mfcc_mean_") {
            assert!(
                (f.values[i] - v).abs() <= 1e-12 * v.abs().max(1.0),
                "{name}"
            );
        } else {
            assert_eq!(f.values[i], *v, "{name}");
        }
    }
    // log_mel is the dB of mel: its max is 80 dB above its floor at most.
    let log_mel = frames.get(Family::LogMel).unwrap();
    let max = log_mel.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert!(log_mel.iter().all(|&v| v >= max - 80.0));
    // A steady tone: rms about 0.4 / sqrt(2) in the middle, a centroid near 440 Hz.
    let rms = frames.get(Family::Rms).unwrap();
    assert!(
        (rms[[20, 0]] - 0.4 / 2f64.sqrt()).abs() < 1e-3,
        "{}",
        rms[[20, 0]]
    );
    let centroid = frames.get(Family::SpectralCentroid).unwrap();
    assert!(
        (centroid[[20, 0]] - 440.0).abs() < 30.0,
        "{}",
        centroid[[20, 0]]
    );
}

#[test]
fn trimming_drops_silence_and_keeps_loud_signals_whole() {
    let sr = 16_000;
    let mut y = vec![0.0f32; 8_000];
    y.extend(tone(sr, 16_000, 300.0, 0.5));
    y.extend(vec![0.0f32; 8_000]);
    let (start, end) = trim(&y, 60.0, 2048, 512);
    assert!((4_001..=8_000).contains(&start), "{start}");
    assert!((24_000..28_000).contains(&end), "{end}");
    let p = FeatureParams {
        trim_top_db: Some(60.0),
        ..FeatureParams::default()
    };
    let f = Extractor::new(&p, sr as u32).extract(&y).unwrap();
    assert_eq!(f.span, (start, end));
    assert_eq!(f.n_frames, 1 + (end - start) / 512);
    let direct = Extractor::new(&FeatureParams::default(), sr as u32)
        .extract(&y[start..end])
        .unwrap();
    assert_eq!(f.values, direct.values);
    // A signal loud throughout is kept whole.
    let loud = tone(sr, 10_000, 300.0, 0.5);
    assert_eq!(trim(&loud, 20.0, 2048, 512), (0, loud.len()));
}

#[test]
fn too_short_for_deltas_or_contrast_rate_is_an_error_not_a_panic() {
    let p = FeatureParams {
        families: vec![Family::MfccDelta],
        ..FeatureParams::default()
    };
    let y = tone(16_000, 3_000, 300.0, 0.5); // 6 frames < 9
    let err = Extractor::new(&p, 16_000).extract(&y).unwrap_err();
    assert!(
        matches!(
            err,
            FeatureError::TooShort {
                needed: 9,
                frames: 6,
                ..
            }
        ),
        "{err}"
    );
    let p = FeatureParams {
        families: vec![Family::SpectralContrast],
        ..FeatureParams::default()
    };
    let err = Extractor::new(&p, 8_000).extract(&y).unwrap_err();
    assert!(matches!(err, FeatureError::Unsupported(_)), "{err}");
    assert!(Extractor::new(&p, 16_000).extract(&y).is_ok());
    // f0: librosa.yin refuses fmax (600 Hz) above Nyquist, and a period of fmin (65 Hz)
    // longer than a frame.
    let p = FeatureParams {
        families: vec![Family::F0],
        ..FeatureParams::default()
    };
    let err = Extractor::new(&p, 1_000).extract(&y).unwrap_err();
    assert!(matches!(err, FeatureError::Unsupported(_)), "{err}");
    let short_frames = FeatureParams {
        n_fft: 128,
        hop_length: 32,
        ..p.clone()
    };
    let err = Extractor::new(&short_frames, 16_000)
        .extract(&y)
        .unwrap_err();
    assert!(err.to_string().contains("n_fft"), "{err}");
    let f = Extractor::new(&p, 16_000).extract(&y).unwrap();
    assert_eq!(p.feature_names(), ["f0_mean_00", "f0_mean_01"]);
    assert_eq!(f.values.len(), 2);
}
