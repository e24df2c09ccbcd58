//! Criterion micro-benchmarks of the feature kernels, on 10 s of synthetic speech-like audio at
//! 48 kHz (RAVDESS's rate) with the original recipe's parameters (n_fft 2048, hop 512, 128 mels,
//! 40 MFCCs, 12 chroma bins).
//!
//! Throughput is declared as 10 elements per iteration, one per second of audio, so criterion's
//! `elem/s` reads directly as **seconds of audio processed per second** (`bench/run.sh` reads the
//! estimates and writes that number to its CSV). Run: `cargo bench --bench kernels`.

use std::hint::black_box;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use ser_pipeline::features::{
    chroma, mel::MelBank, mfcc, real::Real, stft::Stft, Extractor, Family, FeatureParams,
    Precision, Stat,
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
    let mut group = c.benchmark_group("kernels_10s_48k");
    group.throughput(Throughput::Elements(SECONDS));
    // The float64 front end under the plain names, the float32 one (the default) with `_f32`.
    front_end::<f64>(&mut group, &y, "");
    front_end::<f32>(&mut group, &y, "_f32");
    let sr = f64::from(SR);
    let bank = MelBank::slaney(sr, N_FFT, 128, 0.0, sr / 2.0);
    let mel = bank.apply_rows(&Stft::<f64>::new(N_FFT, HOP).power(&y));
    let dct = mfcc::Dct::ortho(128, 40);
    group.bench_function("mfcc", |b| {
        b.iter(|| {
            let mut db = black_box(&mel).clone();
            mfcc::power_to_db_inplace(&mut db, 1e-10, Some(80.0));
            dct.apply_rows(&db)
        })
    });
    // The whole per-file extractor with the original recipe (mfcc, chroma, mel; means), filter
    // caches warm as they are after the first file of a run.
    for (precision, suffix) in [(Precision::F32, "_f32"), (Precision::F64, "")] {
        let params = FeatureParams {
            families: vec![Family::Mfcc, Family::Chroma, Family::Mel],
            stats: vec![Stat::Mean],
            precision,
            ..FeatureParams::default()
        };
        let extractor = Extractor::new(&params, SR);
        group.bench_function(format!("extract_original_recipe{suffix}"), |b| {
            b.iter(|| extractor.extract(black_box(&y)).unwrap())
        });
    }
    group.finish();
}

/// The kernels that run in the front end's precision `T`: STFT power, the mel filterbank, and
/// chroma (tuning estimate and frames) from the power spectrogram.
fn front_end<T: Real>(group: &mut BenchmarkGroup<'_, WallTime>, y: &[f32], suffix: &str) {
    let sr = f64::from(SR);
    let stft = Stft::<T>::new(N_FFT, HOP);
    let bank = MelBank::slaney(sr, N_FFT, 128, 0.0, sr / 2.0);
    let power = stft.power(y);
    group.bench_function(format!("stft_power{suffix}"), |b| {
        b.iter(|| stft.power(black_box(y)))
    });
    group.bench_function(format!("mel{suffix}"), |b| {
        b.iter(|| bank.apply_rows(black_box(&power)))
    });
    // As the extractor runs it: tuning estimated per signal, the filterbank for that tuning
    // built once (the extractor caches one per tuning value) and applied.
    let tuning = chroma::estimate_tuning_from_power(power.view(), sr, N_FFT, 12);
    let filter = chroma::chroma_filter(sr, N_FFT, 12, tuning).mapv(T::narrow);
    group.bench_function(format!("chroma{suffix}"), |b| {
        b.iter(|| {
            let p = black_box(&power);
            let tuning = chroma::estimate_tuning_from_power(p.view(), sr, N_FFT, 12);
            (tuning, chroma::chroma_frames_from_power(p.view(), &filter))
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = kernels
}
criterion_main!(benches);
