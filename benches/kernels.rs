//! Criterion micro-benchmarks of the feature kernels, on 10 s of synthetic speech-like audio at
//! 48 kHz (RAVDESS's rate) with the original recipe's parameters (n_fft 2048, hop 512, 128 mels,
//! 40 MFCCs, 12 chroma bins).
//!
//! Throughput is declared as 10 elements per iteration, one per second of audio, so criterion's
//! `elem/s` reads directly as **seconds of audio processed per second** (`bench/run.sh` reads the
//! estimates and writes that number to its CSV). Run: `cargo bench --bench kernels`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ser_pipeline::features::{
    chroma, mel::MelBank, mfcc, stft::Stft, Extractor, Family, FeatureParams, Stat,
};

const SR: u32 = 48_000;
const SECONDS: u64 = 10;
const N_FFT: usize = 2048;
const HOP: usize = 512;

/// A deterministic voiced signal: a 150 Hz fundamental with slow vibrato and 12 harmonics whose
/// loudness follows a syllable-rate envelope, plus a little pseudo-random noise.
fn speech_like() -> Vec<f32> {
    let n = SR as usize * SECONDS as usize;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut phase = 0.0f64;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(SR);
            let f0 = 150.0 * (1.0 + 0.03 * (2.0 * std::f64::consts::PI * 5.0 * t).sin());
            phase += 2.0 * std::f64::consts::PI * f0 / f64::from(SR);
            let envelope = 0.5 + 0.5 * (2.0 * std::f64::consts::PI * 4.0 * t).sin().abs();
            let voiced: f64 = (1..=12).map(|h| (h as f64 * phase).sin() / h as f64).sum();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            (0.2 * envelope * voiced + 0.01 * noise) as f32
        })
        .collect()
}

fn kernels(c: &mut Criterion) {
    let y = speech_like();
    let sr = f64::from(SR);
    let stft = Stft::new(N_FFT, HOP);
    let bank = MelBank::slaney(sr, N_FFT, 128, 0.0, sr / 2.0);
    let dct = mfcc::Dct::ortho(128, 40);
    let power = stft.power(&y);
    let magnitude = power.mapv(f64::sqrt);
    let mel = bank.apply_rows(&power);

    let mut group = c.benchmark_group("kernels_10s_48k");
    group.throughput(Throughput::Elements(SECONDS));
    group.bench_function("stft_power", |b| b.iter(|| stft.power(black_box(&y))));
    group.bench_function("mel", |b| b.iter(|| bank.apply_rows(black_box(&power))));
    group.bench_function("mfcc", |b| {
        b.iter(|| {
            let mut db = black_box(&mel).clone();
            mfcc::power_to_db_inplace(&mut db, 1e-10, Some(80.0));
            dct.apply_rows(&db)
        })
    });
    // As the extractor runs it: tuning estimated per signal, the filterbank for that tuning
    // built once (the extractor caches one per tuning value) and applied.
    let tuning = chroma::estimate_tuning(magnitude.view(), sr, N_FFT, 12);
    let filter = chroma::chroma_filter(sr, N_FFT, 12, tuning);
    group.bench_function("chroma", |b| {
        b.iter(|| {
            let m = black_box(&magnitude);
            let tuning = chroma::estimate_tuning(m.view(), sr, N_FFT, 12);
            (tuning, chroma::chroma_frames(m.view(), &filter))
        })
    });
    // The whole per-file extractor with the original recipe (mfcc, chroma, mel; means), filter
    // caches warm as they are after the first file of a run.
    let params = FeatureParams {
        families: vec![Family::Mfcc, Family::Chroma, Family::Mel],
        stats: vec![Stat::Mean],
        ..FeatureParams::default()
    };
    let extractor = Extractor::new(&params, SR);
    group.bench_function("extract_original_recipe", |b| {
        b.iter(|| extractor.extract(black_box(&y)).unwrap())
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = kernels
}
criterion_main!(benches);
