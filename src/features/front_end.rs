//! The spectral front end's fused kernels: the mel and chroma filterbank products of an `f32`
//! power spectrogram in one pass over blocks of frames ([`mel_and_chroma_f32`]), and the
//! magnitude spectrogram's square roots ([`sqrt_into`]), each compiled for wider vectors where
//! the CPU has them, with the same bits on every path.

use ndarray::Array2;

use super::block;
use super::chroma;
use super::mel::MelBank;
use super::real::Real;

/// The mel power spectrogram and the chroma frames (through a [`chroma::SparseChroma`], see
/// [`chroma::chroma_frames_sparse`]) of an `f32` power spectrogram, each when asked for, in one
/// pass over blocks of sixteen frames ([`block`]): each block is transposed once for both. The
/// mel values are [`MelBank::apply_rows`]'s bits; the chroma values
/// [`chroma::chroma_frames_sparse`]'s.
pub(super) fn mel_and_chroma_f32(
    power: ndarray::ArrayView2<'_, f32>,
    mel_bank: Option<&MelBank>,
    chroma: Option<&chroma::SparseChroma>,
) -> (Option<Array2<f64>>, Option<Array2<f64>>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports AVX2 and FMA, checked just above.
        return unsafe { mel_and_chroma_fma(power, mel_bank, chroma) };
    }
    mel_and_chroma_in::<false>(power, mel_bank, chroma)
}

/// [`mel_and_chroma_f32`] compiled for AVX2 with fused multiply-adds (chroma's sums only: Rust
/// never fuses the mel sums' separate multiplications and additions).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn mel_and_chroma_fma(
    power: ndarray::ArrayView2<'_, f32>,
    mel_bank: Option<&MelBank>,
    chroma: Option<&chroma::SparseChroma>,
) -> (Option<Array2<f64>>, Option<Array2<f64>>) {
    mel_and_chroma_in::<true>(power, mel_bank, chroma)
}

#[inline(always)]
fn mel_and_chroma_in<const FMA: bool>(
    power: ndarray::ArrayView2<'_, f32>,
    mel_bank: Option<&MelBank>,
    chroma: Option<&chroma::SparseChroma>,
) -> (Option<Array2<f64>>, Option<Array2<f64>>) {
    let n_frames = power.nrows();
    let mut mel = mel_bank.map(|b| Array2::<f64>::zeros((n_frames, b.n_mels())));
    let mut sums = chroma.map(|c| Array2::<f64>::zeros((n_frames, c.n_chroma())));
    if n_frames > 0 && (mel.is_some() || sums.is_some()) {
        let contiguous = power.as_standard_layout();
        let matrix = contiguous.as_slice().expect("standard layout");
        let mut blocks = block::Blocks::new(power.ncols());
        for first in (0..n_frames).step_by(block::LANES) {
            let (block, valid) = blocks.load(matrix, first);
            if let (Some(bank), Some(out)) = (mel_bank, mel.as_mut()) {
                let out = out.as_slice_mut().expect("fresh arrays are contiguous");
                bank.apply_block(block, first, valid, out);
            }
            if let (Some(bank), Some(out)) = (chroma, sums.as_mut()) {
                let out = out.as_slice_mut().expect("fresh arrays are contiguous");
                chroma::sparse_block::<FMA>(bank, block, first, valid, out);
            }
        }
    }
    (mel, sums.map(chroma::normalised))
}

/// `dst[i] = sqrt(src[i])`. On x86-64 CPUs with AVX the loop runs four lanes wide (the default
/// target has only SSE2's two); a square root is correctly rounded at any width, so both paths
/// give the same bits (tested).
pub(super) fn sqrt_into<T: Real>(dst: &mut [T], src: &[T]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU supports AVX, checked just above.
        unsafe { sqrt_into_avx(dst, src) };
        return;
    }
    sqrt_into_portable(dst, src);
}

/// [`sqrt_into_portable`] compiled for AVX.
///
/// # Safety
/// The CPU must support AVX.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn sqrt_into_avx<T: Real>(dst: &mut [T], src: &[T]) {
    sqrt_into_portable(dst, src);
}

#[inline(always)]
fn sqrt_into_portable<T: Real>(dst: &mut [T], src: &[T]) {
    for (d, &p) in dst.iter_mut().zip(src) {
        *d = p.sqrt();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_and_portable_square_roots_agree_bit_for_bit() {
        let src: Vec<f64> = (0..1031)
            .map(|i| (i as f64 * 0.7368).powi(3) + 1e-300)
            .collect();
        let mut a = vec![0.0; src.len()];
        let mut b = vec![0.0; src.len()];
        sqrt_into(&mut a, &src);
        sqrt_into_portable(&mut b, &src);
        assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
        assert_eq!(a[4], src[4].sqrt());
    }
}
