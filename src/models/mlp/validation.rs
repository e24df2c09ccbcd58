//! The validation set early stopping scores: scikit-learn's stratified `train_test_split`
//! ([`stratified_split`]), the same over whole recordings ([`grouped_split`]), and the accuracy
//! on it in the training precision ([`Scorer`]).

use ndarray::{Array2, ArrayView2};
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::network::{forward, predicted_class, Net, Real};
use super::MlpError;

/// scikit-learn's `_approximate_mode`: split `n_draws` over classes in proportion to `counts`,
/// flooring, then giving the remaining draws to the largest remainders (ties: lower class id).
fn approximate_mode(counts: &[usize], n_draws: usize) -> Vec<usize> {
    let total: usize = counts.iter().sum();
    let continuous: Vec<f64> = counts
        .iter()
        .map(|&c| c as f64 / total as f64 * n_draws as f64)
        .collect();
    let mut drawn: Vec<usize> = continuous
        .iter()
        .zip(counts)
        .map(|(&v, &c)| (v.floor() as usize).min(c))
        .collect();
    let mut need = n_draws.saturating_sub(drawn.iter().sum());
    let mut by_remainder: Vec<usize> = (0..counts.len()).collect();
    by_remainder.sort_by(|&a, &b| {
        let ra = continuous[a] - continuous[a].floor();
        let rb = continuous[b] - continuous[b].floor();
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    while need > 0 {
        let mut progressed = false;
        for &c in &by_remainder {
            if need > 0 && drawn[c] < counts[c] {
                drawn[c] += 1;
                need -= 1;
                progressed = true;
            }
        }
        if !progressed {
            break;
        }
    }
    drawn
}

/// [`stratified_split`] of whole groups: each group (in order of first appearance) is one unit
/// with its first row's class; the units are split, then expanded to their rows (in row order
/// within a group, the units in the split's order). With one row per group, the rows'
/// [`stratified_split`] itself.
pub(super) fn grouped_split(
    y: &[usize],
    groups: &[usize],
    n_classes: usize,
    fraction: f64,
    rng: &mut ChaCha8Rng,
) -> Result<(Vec<usize>, Vec<usize>), MlpError> {
    let mut unit_of: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    let mut units: Vec<Vec<usize>> = Vec::new();
    for (i, &g) in groups.iter().enumerate() {
        let u = *unit_of.entry(g).or_insert_with(|| {
            units.push(Vec::new());
            units.len() - 1
        });
        units[u].push(i);
    }
    if units.len() == y.len() {
        return stratified_split(y, n_classes, fraction, rng);
    }
    let unit_y: Vec<usize> = units.iter().map(|rows| y[rows[0]]).collect();
    let (train, val) = stratified_split(&unit_y, n_classes, fraction, rng)?;
    let expand =
        |us: Vec<usize>| -> Vec<usize> { us.into_iter().flat_map(|u| units[u].clone()).collect() };
    Ok((expand(train), expand(val)))
}

/// scikit-learn's `train_test_split(stratify=y, test_size=fraction)`: `ceil(fraction * n)`
/// validation rows, allocated to classes by [`approximate_mode`] of the training rows, each class's
/// rows permuted; returns (train, validation) row indices, each in random order.
pub(super) fn stratified_split(
    y: &[usize],
    n_classes: usize,
    fraction: f64,
    rng: &mut ChaCha8Rng,
) -> Result<(Vec<usize>, Vec<usize>), MlpError> {
    let n = y.len();
    let n_val = (fraction * n as f64).ceil() as usize;
    if n_val < 2 || n_val >= n {
        return Err(MlpError::Data(format!(
            "the validation set of {n_val} of {n} rows is too small (or leaves no training rows); \
             increase validation_fraction or the data, or turn early_stopping off"
        )));
    }
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); n_classes];
    for (i, &c) in y.iter().enumerate() {
        by_class[c].push(i);
    }
    let counts: Vec<usize> = by_class.iter().map(Vec::len).collect();
    let n_train_per_class = approximate_mode(&counts, n - n_val);
    let mut train = Vec::with_capacity(n - n_val);
    let mut val = Vec::with_capacity(n_val);
    for (rows, &k) in by_class.iter_mut().zip(&n_train_per_class) {
        rows.shuffle(rng);
        train.extend_from_slice(&rows[..k]);
        val.extend_from_slice(&rows[k..]);
    }
    train.shuffle(rng);
    val.shuffle(rng);
    Ok((train, val))
}

/// Validation accuracy in the training precision, with its buffers allocated once.
pub(super) struct Scorer<'a, T> {
    x: ArrayView2<'a, T>,
    y: &'a [usize],
    acts: Vec<Array2<T>>,
}

impl<'a, T: Real> Scorer<'a, T> {
    pub(super) fn new(net: &Net<T>, x: ArrayView2<'a, T>, y: &'a [usize]) -> Scorer<'a, T> {
        let acts = net
            .weights
            .iter()
            .map(|w| Array2::zeros((x.nrows(), w.ncols())))
            .collect();
        Scorer { x, y, acts }
    }

    pub(super) fn accuracy(&mut self, net: &Net<T>) -> f64 {
        forward(&net.weights, &net.biases, self.x, &mut self.acts, None);
        let out = self.acts.last().expect("at least one layer");
        let width = out.ncols();
        let correct = out
            .as_slice()
            .expect("standard layout")
            .chunks_exact(width)
            .zip(self.y)
            .filter(|(row, &t)| predicted_class(row) == t)
            .count();
        correct as f64 / self.y.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::collections::BTreeSet;

    #[test]
    fn grouped_split_holds_out_whole_groups_and_is_the_plain_split_for_singletons() {
        // 40 recordings of 4 classes, 1-5 rows each.
        let mut y = Vec::new();
        let mut groups = Vec::new();
        for g in 0..40usize {
            for _ in 0..1 + g % 5 {
                y.push(g % 4);
                groups.push(g);
            }
        }
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (train, val) = grouped_split(&y, &groups, 4, 0.1, &mut rng).unwrap();
        assert_eq!(train.len() + val.len(), y.len());
        let val_groups: BTreeSet<usize> = val.iter().map(|&i| groups[i]).collect();
        let train_groups: BTreeSet<usize> = train.iter().map(|&i| groups[i]).collect();
        assert!(val_groups.is_disjoint(&train_groups));
        // ceil(0.1 * 40) = 4 recordings held out, one per class.
        assert_eq!(val_groups.len(), 4);
        let classes: BTreeSet<usize> = val_groups.iter().map(|g| g % 4).collect();
        assert_eq!(classes.len(), 4);
        // One row per group: the rows' own split, draw for draw.
        let singletons: Vec<usize> = (0..y.len()).collect();
        let (a, b) = (
            grouped_split(&y, &singletons, 4, 0.1, &mut ChaCha8Rng::seed_from_u64(9)).unwrap(),
            stratified_split(&y, 4, 0.1, &mut ChaCha8Rng::seed_from_u64(9)).unwrap(),
        );
        assert_eq!(a, b);
    }

    #[test]
    fn stratified_split_keeps_class_proportions() {
        let y: Vec<usize> = (0..1000)
            .map(|i| {
                if i % 10 < 5 {
                    0
                } else if i % 10 < 8 {
                    1
                } else {
                    2
                }
            })
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let (train, val) = stratified_split(&y, 4, 0.1, &mut rng).unwrap();
        assert_eq!((train.len(), val.len()), (900, 100));
        let count = |rows: &[usize], c| rows.iter().filter(|&&i| y[i] == c).count();
        assert_eq!(
            [
                count(&val, 0),
                count(&val, 1),
                count(&val, 2),
                count(&val, 3)
            ],
            [50, 30, 20, 0]
        );
        let mut all: Vec<usize> = train.iter().chain(&val).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
        assert_eq!(approximate_mode(&[3, 3, 3], 5), vec![2, 2, 1]);
        assert!(stratified_split(&y[..10], 4, 0.1, &mut rng).is_err());
    }
}
