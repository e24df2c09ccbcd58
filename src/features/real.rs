//! The float types the spectral front end computes in (`[features] precision`): the STFT, the
//! power and magnitude spectrograms, the mel filterbank product, piptrack and the chroma
//! filterbank product run in `f32` or `f64`; everything after them (decibels, DCT, chroma
//! normalisation, the spectral-shape families, pooling) runs in `f64` either way.

use ndarray::{Array2, ArrayView2, CowArray, Ix2, LinalgScalar};
use num_traits::Float;
use realfft::FftNum;

/// `f32` or `f64`, with the conversions the front end needs.
pub trait Real: FftNum + Float + LinalgScalar + Send + Sync {
    /// A sample or an `f32` weight, exactly (both types hold every `f32`).
    fn lift(v: f32) -> Self;
    /// The nearest value of this type.
    fn narrow(v: f64) -> Self;
    /// The value as `f64`, exactly.
    fn widen(self) -> f64;
    /// The matrix as `f64`: borrowed for `f64`, converted for `f32`.
    fn widen_array(a: &Array2<Self>) -> CowArray<'_, f64, Ix2>;
    /// The matrix as `f64`: moved for `f64`, converted for `f32`.
    fn widen_owned(a: Array2<Self>) -> Array2<f64>;
    /// Of two copies of one matrix, the one of this type.
    fn pick<'a>(a32: &'a Array2<f32>, a64: &'a Array2<f64>) -> &'a Array2<Self>;
    /// The matrix, when this type is `f32` (the kernels written for `f32` only).
    fn as_f32<'a>(a: ArrayView2<'a, Self>) -> Option<ArrayView2<'a, f32>>;
}

impl Real for f32 {
    fn lift(v: f32) -> f32 {
        v
    }
    fn narrow(v: f64) -> f32 {
        v as f32
    }
    fn widen(self) -> f64 {
        f64::from(self)
    }
    fn widen_array(a: &Array2<f32>) -> CowArray<'_, f64, Ix2> {
        CowArray::from(a.mapv(f64::from))
    }
    fn widen_owned(a: Array2<f32>) -> Array2<f64> {
        a.mapv(f64::from)
    }
    fn pick<'a>(a32: &'a Array2<f32>, _: &'a Array2<f64>) -> &'a Array2<f32> {
        a32
    }
    fn as_f32<'a>(a: ArrayView2<'a, f32>) -> Option<ArrayView2<'a, f32>> {
        Some(a)
    }
}

impl Real for f64 {
    fn lift(v: f32) -> f64 {
        f64::from(v)
    }
    fn narrow(v: f64) -> f64 {
        v
    }
    fn widen(self) -> f64 {
        self
    }
    fn widen_array(a: &Array2<f64>) -> CowArray<'_, f64, Ix2> {
        CowArray::from(a.view())
    }
    fn widen_owned(a: Array2<f64>) -> Array2<f64> {
        a
    }
    fn pick<'a>(_: &'a Array2<f32>, a64: &'a Array2<f64>) -> &'a Array2<f64> {
        a64
    }
    fn as_f32<'a>(_: ArrayView2<'a, f64>) -> Option<ArrayView2<'a, f32>> {
        None
    }
}
