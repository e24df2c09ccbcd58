//! `noise`: additive white Gaussian noise at a given SNR below the signal's mean power.

use std::f64::consts::PI;

use rand::Rng;

pub(super) fn add_noise(y: &[f32], snr_db: f64, rng: &mut impl Rng) -> Vec<f32> {
    if y.is_empty() {
        return Vec::new();
    }
    let power = y.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / y.len() as f64;
    let sigma = (power / 10f64.powf(snr_db / 10.0)).sqrt();
    let mut out = Vec::with_capacity(y.len());
    // Box-Muller: each pair of uniforms gives two independent standard normals.
    for pair in y.chunks(2) {
        let u1 = 1.0 - rng.random::<f64>(); // (0, 1]: ln stays finite
        let u2: f64 = rng.random();
        let r = (-2.0 * u1.ln()).sqrt();
        let (s, c) = (2.0 * PI * u2).sin_cos();
        for (&x, z) in pair.iter().zip([r * c, r * s]) {
            out.push((f64::from(x) + sigma * z) as f32);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::augment::rng_for;
    use crate::augment::test_support::{rich, rng, tone, SR};
    use crate::augment::Transform;

    #[test]
    fn noise_hits_the_requested_snr() {
        let y = rich(96_000, f64::from(SR));
        for snr in [-5.0, 0.0, 10.0, 20.0, 40.0] {
            let out = Transform::Noise { snr_db: snr }.apply(&y, SR, &mut rng());
            assert_eq!(out.len(), y.len());
            let noise: f64 = out
                .iter()
                .zip(&y)
                .map(|(&o, &i)| (f64::from(o) - f64::from(i)).powi(2))
                .sum();
            let signal: f64 = y.iter().map(|&s| f64::from(s).powi(2)).sum();
            let measured = 10.0 * (signal / noise).log10();
            assert!((measured - snr).abs() < 0.5, "{snr}: {measured}");
        }
        // Silence stays silent.
        let silent = vec![0.0f32; 100];
        assert_eq!(
            Transform::Noise { snr_db: 10.0 }.apply(&silent, SR, &mut rng()),
            silent
        );
    }

    #[test]
    fn noise_is_deterministic_per_stream_and_differs_between_copies() {
        let y = tone(440.0, 0.5, 10_001);
        let t = Transform::Noise { snr_db: 15.0 };
        let a = t.apply(
            &y,
            SR,
            &mut rng_for(1, "Actor_01/03-01-05-01-01-01-01.wav", 0),
        );
        let b = t.apply(
            &y,
            SR,
            &mut rng_for(1, "Actor_01/03-01-05-01-01-01-01.wav", 0),
        );
        let c = t.apply(
            &y,
            SR,
            &mut rng_for(1, "Actor_01/03-01-05-01-01-01-01.wav", 1),
        );
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), y.len());
        // The noise is zero-mean with unit-variance shape (sanity of the Box-Muller draws).
        let d: Vec<f64> = a.iter().zip(&c).map(|(&p, &q)| f64::from(p - q)).collect();
        let mean = d.iter().sum::<f64>() / d.len() as f64;
        let sd = (d.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / d.len() as f64).sqrt();
        let sigma = (0.125f64 / 10f64.powf(1.5)).sqrt() * 2f64.sqrt();
        assert!(mean.abs() < 0.05 * sigma, "{mean}");
        assert!((sd / sigma - 1.0).abs() < 0.05, "{sd} vs {sigma}");
    }
}
