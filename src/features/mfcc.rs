//! Decibels and the DCT behind MFCCs: `librosa.power_to_db` (ref 1.0, amin 1e-10, top_db 80)
//! and `scipy.fft.dct(type=2, norm="ortho")`, which `librosa.feature.mfcc` applies along the mel
//! axis before keeping the first `n_mfcc` coefficients.

use ndarray::Array2;

/// `librosa.power_to_db(S, ref=1.0, amin=amin, top_db=top_db)` in place, over the whole matrix:
/// `10 log10(max(amin, S))`, then floored at `max - top_db` (the maximum over every value).
pub fn power_to_db_inplace(s: &mut Array2<f64>, amin: f64, top_db: Option<f64>) {
    match s.as_slice_mut() {
        Some(x) => power_to_db_slice(x, amin, top_db),
        None => {
            let mut x = s.iter().copied().collect::<Vec<_>>();
            power_to_db_slice(&mut x, amin, top_db);
            s.iter_mut().zip(x).for_each(|(v, d)| *v = d);
        }
    }
}

/// 10 dB per ln(10) nepers: 10 log10(x) as ln(x) 10 / ln(10). glibc's log10 is its ln plus a
/// wrapper that cost as much again; the two differ by an ulp or two.
const DB_PER_NEPER: f64 = 10.0 / std::f64::consts::LN_10;

/// [`power_to_db_inplace`] of a slice: with AVX2 and FMA (and `amin` a normal number), the
/// logarithms four at a time by [`ln_normal`].
fn power_to_db_slice(x: &mut [f64], amin: f64, top_db: Option<f64>) {
    #[cfg(target_arch = "x86_64")]
    if amin >= f64::MIN_POSITIVE
        && std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma")
    {
        // SAFETY: the CPU supports AVX2 and FMA, checked just above.
        unsafe { power_to_db_avx2(x, amin, top_db) };
        return;
    }
    // ref = 1.0 contributes 10 log10(max(amin, 1)) = 0.
    for v in x.iter_mut() {
        *v = v.max(amin).ln() * DB_PER_NEPER;
    }
    floor_at_top_db(x, top_db);
}

/// [`power_to_db_slice`] compiled for AVX2 and FMA: [`ln_normal`] vectorises four lanes wide.
///
/// # Safety
/// The CPU must support AVX2 and FMA; `amin` must be at least `f64::MIN_POSITIVE`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn power_to_db_avx2(x: &mut [f64], amin: f64, top_db: Option<f64>) {
    // max(v, amin) is a normal number or +inf; NaN gives amin, as f64::max does, in one
    // comparison (vmaxpd) rather than f64::max's NaN test and blend.
    for v in x.iter_mut() {
        let clamped = if *v > amin { *v } else { amin };
        *v = ln_normal(clamped) * DB_PER_NEPER;
    }
    floor_at_top_db(x, top_db);
}

/// Floors every value at the maximum less `top_db`, when given.
#[inline(always)]
fn floor_at_top_db(x: &mut [f64], top_db: Option<f64>) {
    if let Some(top_db) = top_db {
        // In lanes the compiler can vectorise (a fold over an iterator is sequential).
        let mut lanes = [f64::NEG_INFINITY; 4];
        let mut chunks = x.chunks_exact(4);
        for c in &mut chunks {
            for (m, &v) in lanes.iter_mut().zip(c) {
                *m = m.max(v);
            }
        }
        let max = chunks
            .remainder()
            .iter()
            .chain(&lanes)
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let floor = max - top_db;
        for v in x.iter_mut() {
            *v = v.max(floor);
        }
    }
}

/// The natural logarithm of a positive normal number or +inf, without branches so a loop of it
/// vectorises: fdlibm's `__ieee754_log` (error below 1 ulp; within 1 ulp of glibc's `log`,
/// which [`f64::ln`] calls, tested), with its two final forms chosen by a select, its shortcut
/// for `|f| < 2^-20` left out (the general form is as accurate there) and its polynomial in
/// fused multiply-adds. `x = 2^k (1 + f)` with `sqrt(2)/2 <= 1 + f < sqrt(2)`, `s = f / (2 + f)`,
/// `ln(1 + f) = f - s (f - R(s^2))` with fdlibm's minimax `R`. Zero, subnormals, negatives and
/// NaN are not handled (the callers clamp to a normal `amin` first).
#[inline(always)]
// fdlibm's constants as fdlibm prints them (each rounds to the same double).
#[allow(clippy::excessive_precision)]
pub fn ln_normal(x: f64) -> f64 {
    const LN2_HI: f64 = 6.93147180369123816490e-01;
    const LN2_LO: f64 = 1.90821492927058770002e-10;
    const LG1: f64 = 6.666666666666735130e-01;
    const LG2: f64 = 3.999999999940941908e-01;
    const LG3: f64 = 2.857142874366239149e-01;
    const LG4: f64 = 2.222219843214978396e-01;
    const LG5: f64 = 1.818357216161805012e-01;
    const LG6: f64 = 1.531383769920937332e-01;
    const LG7: f64 = 1.479819860511658591e-01;
    /// 2^52: `2^52 + n` has `n` in its low mantissa bits.
    const TWO52: f64 = 4_503_599_627_370_496.0;
    let bits = x.to_bits();
    let hx = (bits >> 32) & 0x000f_ffff;
    let i = (hx + 0x95f64) & 0x10_0000;
    // 1 + f: the mantissa with exponent 0, or -1 when it is at least sqrt(2) (k one up).
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | ((i ^ 0x3ff0_0000) << 32));
    // k + 1023 in a double's low mantissa bits, so k converts exactly by a subtraction (AVX2 has
    // no 64-bit integer conversion).
    let biased = (bits >> 52) + (i >> 20);
    let dk = f64::from_bits(TWO52.to_bits() | biased) - (TWO52 + 1023.0);
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * LG6.mul_add(w, LG4).mul_add(w, LG2);
    let t2 = z * LG7.mul_add(w, LG5).mul_add(w, LG3).mul_add(w, LG1);
    let r = t2 + t1;
    let hfsq = 0.5 * f * f;
    let hx = hx as i64;
    let far = ((hx - 0x6147a) | (0x6b851 - hx)) > 0;
    let result = if far {
        dk * LN2_HI - ((hfsq - (s * (hfsq + r) + dk * LN2_LO)) - f)
    } else {
        dk * LN2_HI - ((s * (f - r) - dk * LN2_LO) - f)
    };
    if x == f64::INFINITY {
        x
    } else {
        result
    }
}

/// An orthonormal DCT-II keeping the first `n_out` of `n_in` coefficients.
#[derive(Debug, Clone)]
pub struct Dct {
    /// `(n_out, n_in)` basis, row `k` scaled by `sqrt(1/n)` for `k = 0`, `sqrt(2/n)` otherwise.
    basis: Array2<f64>,
}

impl Dct {
    pub fn ortho(n_in: usize, n_out: usize) -> Dct {
        let n = n_in as f64;
        let basis = Array2::from_shape_fn((n_out, n_in), |(k, i)| {
            let scale = if k == 0 {
                (1.0 / n).sqrt()
            } else {
                (2.0 / n).sqrt()
            };
            scale * (std::f64::consts::PI * k as f64 * (2 * i + 1) as f64 / (2.0 * n)).cos()
        });
        Dct { basis }
    }

    /// Transforms every row of `x` (`(n_frames, n_in)` -> `(n_frames, n_out)`).
    pub fn apply_rows(&self, x: &Array2<f64>) -> Array2<f64> {
        x.dot(&self.basis.t())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn db_floor_is_top_db_below_the_max() {
        let mut s = array![[1.0, 1e-3], [1e-12, 0.0]];
        power_to_db_inplace(&mut s, 1e-10, Some(80.0));
        let expected = array![[0.0, -30.0], [-80.0, -80.0]];
        assert!(
            s.iter().zip(&expected).all(|(a, b)| (a - b).abs() < 1e-12),
            "{s}"
        );
        // The floor is exactly top_db below the maximum.
        assert_eq!(s[[1, 1]], s[[0, 0]] - 80.0);
        let mut s = array![[1e-12]];
        power_to_db_inplace(&mut s, 1e-10, None);
        assert!((s[[0, 0]] + 100.0).abs() < 1e-12);
    }

    /// Distance in ulps between two finite doubles of one sign.
    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    #[test]
    fn branch_free_ln_is_within_an_ulp_of_glibc() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            // xorshift64*
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_f491_4f6c_dd1d)
        };
        let mut worst = 0;
        let mut check = |x: f64| {
            let (a, b) = (ln_normal(x), x.ln());
            let d = if b == 0.0 {
                u64::from(a != 0.0)
            } else {
                ulps(a, b)
            };
            assert!(d <= 1, "ln({x:e}) = {a:e}, glibc {b:e}");
            worst = worst.max(d);
        };
        // Every positive normal double: random bit patterns.
        for _ in 0..400_000 {
            let x = f64::from_bits(next() >> 1);
            if x.is_finite() && x >= f64::MIN_POSITIVE {
                check(x);
            }
        }
        // The range decibels meet (the amin clamp 1e-10 up to huge powers), near 1 (f tiny,
        // both signs), around the sqrt(2) / 2 split and the forms' switch points, and the edges.
        for _ in 0..200_000 {
            let u = (next() >> 11) as f64 / (1u64 << 53) as f64;
            check(10f64.powf(-12.0 + 24.0 * u));
            check(1.0 + (u - 0.5) * 1e-6);
            check(std::f64::consts::FRAC_1_SQRT_2 * (1.0 + (u - 0.5) * 1e-3));
            check(std::f64::consts::SQRT_2 * (1.0 + (u - 0.5) * 1e-3));
            check(1.38 + 0.06 * u);
            check(1.41 + 0.02 * u);
        }
        for x in [
            1e-10,
            1.0,
            2.0,
            0.5,
            f64::MIN_POSITIVE,
            f64::MAX,
            std::f64::consts::E,
            1.0 + f64::EPSILON,
            1.0 - f64::EPSILON / 2.0,
        ] {
            check(x);
        }
        assert_eq!(ln_normal(1.0), 0.0);
        assert_eq!(ln_normal(f64::INFINITY), f64::INFINITY);
        // Not the same function as glibc's: some values differ by that ulp.
        assert_eq!(worst, 1);
    }

    #[test]
    fn wide_and_portable_decibels_agree_to_an_ulp() {
        let src: Vec<f64> = (0..4099)
            .map(|i| (i as f64 * 0.7368).sin().powi(6) * 10f64.powi(i % 15 - 9))
            .chain([0.0, -1.0, f64::NAN, 1e-300])
            .collect();
        let mut wide = src.clone();
        power_to_db_slice(&mut wide, 1e-10, Some(80.0));
        let mut scalar: Vec<f64> = src
            .iter()
            .map(|v| v.max(1e-10).ln() * DB_PER_NEPER)
            .collect();
        floor_at_top_db(&mut scalar, Some(80.0));
        let mut branch_free: Vec<f64> = src
            .iter()
            .map(|v| ln_normal(v.max(1e-10)) * DB_PER_NEPER)
            .collect();
        floor_at_top_db(&mut branch_free, Some(80.0));
        let mut differ = 0;
        for ((a, b), c) in wide.iter().zip(&scalar).zip(&branch_free) {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                assert_eq!(a.to_bits(), c.to_bits());
            }
            assert!((a - b).abs() <= 2.0 * f64::EPSILON * b.abs(), "{a} vs {b}");
            differ += usize::from(a != b);
        }
        assert!(differ < src.len() / 10, "{differ}");
        // NaN powers clamp to amin, as f64::max does: -100 dB before the floor.
        assert!(wide.iter().all(|v| v.is_finite()));
        // An amin below the normal range takes glibc's log.
        let mut tiny = vec![0.0, 1e-310, 1.0];
        power_to_db_slice(&mut tiny, 1e-320, None);
        assert_eq!(tiny[2], 0.0);
        assert_eq!(tiny[0], 1e-320f64.ln() * DB_PER_NEPER);
    }

    #[test]
    fn dct_is_orthonormal() {
        let dct = Dct::ortho(16, 16);
        let g = dct.basis.dot(&dct.basis.t());
        for ((i, j), v) in g.indexed_iter() {
            let expected = if i == j { 1.0 } else { 0.0 };
            assert!((v - expected).abs() < 1e-12);
        }
        // A constant input has energy only in coefficient 0: sqrt(n) * c.
        let x = Array2::from_elem((1, 16), 2.0);
        let y = dct.apply_rows(&x);
        assert!((y[[0, 0]] - 8.0).abs() < 1e-12);
        assert!(y.iter().skip(1).all(|v| v.abs() < 1e-12));
    }
}
