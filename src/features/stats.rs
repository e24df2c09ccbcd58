//! Pooling a family's frames over time into one value per dimension, as numpy computes each
//! statistic along the frame axis: `np.mean`, `np.std` (population), `np.min`, `np.max`,
//! `np.median` and `np.percentile(..., method="linear")`.

use ndarray::{Array1, ArrayView2, Axis};

use super::Stat;

/// Pools `(n_frames, dims)` over frames into `dims` values. `frames` must have at least one row.
pub fn pool(frames: ArrayView2<'_, f64>, stat: Stat) -> Vec<f64> {
    let mut out = Vec::with_capacity(frames.ncols());
    pool_into(frames, &[stat], &mut out);
    out
}

/// Appends, for each statistic in turn, its `dims` values to `out`. Columns are sorted once
/// when any order statistic (min, max, median, percentiles) is asked for.
pub fn pool_into(frames: ArrayView2<'_, f64>, stats: &[Stat], out: &mut Vec<f64>) {
    let n = frames.nrows() as f64;
    let needs_mean = stats.iter().any(|s| matches!(s, Stat::Mean | Stat::Std));
    let mean = needs_mean.then(|| column_sums(frames) / n);
    let needs_sorted = stats.iter().any(|s| s.is_order_statistic());
    let sorted: Vec<Vec<f64>> = if needs_sorted {
        let mut keys = Vec::with_capacity(frames.nrows());
        frames
            .columns()
            .into_iter()
            .map(|c| {
                // Sorting integer keys in f64::total_cmp order is several times faster than
                // sorting the floats with total_cmp.
                keys.clear();
                keys.extend(c.iter().map(|&x| total_order_key(x)));
                keys.sort_unstable();
                keys.iter().map(|&k| from_total_order_key(k)).collect()
            })
            .collect()
    } else {
        Vec::new()
    };
    for &stat in stats {
        match stat {
            Stat::Mean => out.extend(mean.as_ref().expect("computed").iter()),
            Stat::Std => {
                let mean = mean.as_ref().expect("computed");
                let mut var = vec![0.0; frames.ncols()];
                for row in frames.rows() {
                    for ((v, x), m) in var.iter_mut().zip(row).zip(mean) {
                        *v += (x - m) * (x - m);
                    }
                }
                out.extend(var.into_iter().map(|v| (v / n).sqrt()));
            }
            _ => out.extend(sorted.iter().map(|col| order_statistic(col, stat))),
        }
    }
}

/// `frames.sum_axis(Axis(0))`, the same sums in the same order, without ndarray's overhead per
/// row: with more than one column in a contiguous matrix, ndarray adds the rows one by one to
/// zeros (each column's sum runs down the frames in order), as this loop does, in lanes the
/// compiler vectorises. Other layouts take `sum_axis` itself.
pub fn column_sums(frames: ArrayView2<'_, f64>) -> Array1<f64> {
    match frames.as_slice() {
        Some(data) if frames.ncols() >= 2 => {
            let mut sums = vec![0.0; frames.ncols()];
            for row in data.chunks_exact(frames.ncols()) {
                for (s, &v) in sums.iter_mut().zip(row) {
                    *s += v;
                }
            }
            Array1::from(sums)
        }
        _ => frames.sum_axis(Axis(0)),
    }
}

/// An integer whose order is `f64::total_cmp`'s (the transformation `total_cmp` itself uses).
fn total_order_key(x: f64) -> i64 {
    let bits = x.to_bits() as i64;
    bits ^ ((((bits >> 63) as u64) >> 1) as i64)
}

/// Inverse of [`total_order_key`].
fn from_total_order_key(key: i64) -> f64 {
    f64::from_bits((key ^ ((((key >> 63) as u64) >> 1) as i64)) as u64)
}

/// An order statistic of one column sorted ascending by `total_cmp`. NumPy returns NaN for a
/// column holding a NaN; so does this.
fn order_statistic(sorted: &[f64], stat: Stat) -> f64 {
    if sorted.iter().any(|v| v.is_nan()) {
        return f64::NAN;
    }
    match stat {
        Stat::Min => sorted[0],
        Stat::Max => sorted[sorted.len() - 1],
        Stat::Median => median(sorted),
        Stat::P10 => percentile(sorted, 10.0),
        Stat::P90 => percentile(sorted, 90.0),
        Stat::Mean | Stat::Std => unreachable!("not an order statistic"),
    }
}

/// `np.median` of sorted values: the middle one, or the mean of the middle two
/// (`np.mean` of two values is `(a + b) / 2`).
pub fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// `np.percentile(x, q)` (method `"linear"`, Hyndman and Fan's type 7) of sorted values,
/// evaluated as numpy does: virtual index `(n - 1) * (q / 100)`, then `_lerp`, which
/// interpolates from the nearer neighbour (`b - (b - a) (1 - g)` when `g >= 0.5`).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let virtual_index = (n - 1) as f64 * (q / 100.0);
    if virtual_index >= (n - 1) as f64 {
        return sorted[n - 1];
    }
    if virtual_index < 0.0 {
        return sorted[0];
    }
    let previous = virtual_index.floor();
    let gamma = virtual_index - previous;
    let i = previous as usize;
    let (a, b) = (sorted[i], sorted[i + 1]);
    let diff = b - a;
    if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn column_sums_are_sum_axis_bit_for_bit() {
        for (rows, cols) in [(1, 1), (5, 1), (1, 7), (37, 2), (301, 128), (9, 12)] {
            let m = ndarray::Array2::from_shape_fn((rows, cols), |(t, c)| {
                let x = ((t * 7919 + c * 104_729) % 10_007) as f64 / 10_007.0 - 0.3;
                x * 10f64.powi((t % 9) as i32 - 4)
            });
            let a = column_sums(m.view());
            let b = m.sum_axis(Axis(0));
            assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
            // A transposed view is not contiguous: sum_axis itself.
            let t = m.t();
            let a = column_sums(t);
            let b = t.sum_axis(Axis(0));
            assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
        }
    }

    use super::*;
    use ndarray::Array2;

    #[test]
    fn percentiles_of_zero_to_ten() {
        // np.percentile(np.arange(11), [10, 90]) = [1, 9]; np.median = 5.
        let v: Vec<f64> = (0..=10).map(f64::from).collect();
        assert_eq!(percentile(&v, 10.0), 1.0);
        assert_eq!(percentile(&v, 90.0), 9.0);
        assert_eq!(median(&v), 5.0);
        // np.percentile(np.arange(10.), [10, 90]) == [0.9, 8.1] exactly (as f64 literals).
        let v: Vec<f64> = (0..10).map(f64::from).collect();
        assert_eq!(percentile(&v, 10.0), 0.9);
        assert_eq!(percentile(&v, 90.0), 8.1);
        assert_eq!(median(&v), 4.5);
        // np.percentile([0.3, 1.7, 2.2, 5.9], [10, 90]) prints [0.72, 4.79]; the 90th takes the
        // `gamma >= 0.5` branch (virtual index 2.7).
        let v = [0.3, 1.7, 2.2, 5.9];
        assert!((percentile(&v, 10.0) - 0.72).abs() < 1e-15);
        assert!((percentile(&v, 90.0) - 4.79).abs() < 1e-15);
        assert_eq!(percentile(&[3.0], 10.0), 3.0);
        assert_eq!(percentile(&[3.0], 90.0), 3.0);
    }

    #[test]
    fn pooled_order_statistics_per_column() {
        // Column 0 is 0..10 shuffled, column 1 is constant.
        let col0 = [7.0, 2.0, 9.0, 0.0, 4.0, 10.0, 1.0, 3.0, 8.0, 6.0, 5.0];
        let frames = Array2::from_shape_fn((11, 2), |(t, d)| if d == 0 { col0[t] } else { -1.5 });
        let stats = [
            Stat::Min,
            Stat::Max,
            Stat::Median,
            Stat::P10,
            Stat::P90,
            Stat::Mean,
        ];
        let mut out = Vec::new();
        pool_into(frames.view(), &stats, &mut out);
        assert_eq!(
            out,
            vec![0.0, -1.5, 10.0, -1.5, 5.0, -1.5, 1.0, -1.5, 9.0, -1.5, 5.0, -1.5]
        );
    }

    #[test]
    fn total_order_keys_sort_like_total_cmp_and_round_trip() {
        let mut v = [
            3.5,
            -0.0,
            0.0,
            -1e300,
            f64::MIN_POSITIVE,
            -2.0,
            1e-300,
            f64::INFINITY,
        ];
        let mut keys: Vec<i64> = v.iter().map(|&x| total_order_key(x)).collect();
        keys.sort_unstable();
        let back: Vec<f64> = keys.iter().map(|&k| from_total_order_key(k)).collect();
        v.sort_by(f64::total_cmp);
        assert_eq!(
            back.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn nan_makes_order_statistics_nan() {
        let frames = Array2::from_shape_vec((3, 1), vec![1.0, f64::NAN, 2.0]).unwrap();
        assert!(pool(frames.view(), Stat::Median)[0].is_nan());
        assert!(pool(frames.view(), Stat::Min)[0].is_nan());
    }

    #[test]
    fn std_of_constant_frames_is_zero_and_mean_is_the_value() {
        let frames = Array2::from_elem((5, 3), 2.5);
        assert_eq!(pool(frames.view(), Stat::Mean), vec![2.5; 3]);
        assert_eq!(pool(frames.view(), Stat::Std), vec![0.0; 3]);
    }
}
