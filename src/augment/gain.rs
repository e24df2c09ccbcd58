//! `gain`: scaling by a number of decibels.

/// `y` scaled by `10^(db / 20)`, each sample in f64, rounded back to f32.
pub(super) fn gain(y: &[f32], db: f64) -> Vec<f32> {
    let g = 10f64.powf(db / 20.0);
    y.iter().map(|&s| (f64::from(s) * g) as f32).collect()
}

#[cfg(test)]
mod tests {
    use crate::augment::test_support::{rich, rng, SR};
    use crate::augment::Transform;

    #[test]
    fn gain_scales_exactly() {
        let y = rich(1000, f64::from(SR));
        for db in [-40.0, -6.0, 0.0, 3.5, 40.0] {
            let g = 10f64.powf(db / 20.0);
            let out = Transform::Gain { db }.apply(&y, SR, &mut rng());
            assert_eq!(out.len(), y.len());
            for (&o, &i) in out.iter().zip(&y) {
                assert_eq!(o, (f64::from(i) * g) as f32);
            }
        }
        let out = Transform::Gain { db: -6.0 }.apply(&[1.0], SR, &mut rng());
        assert!((f64::from(out[0]) - 0.501187).abs() < 1e-6);
    }
}
