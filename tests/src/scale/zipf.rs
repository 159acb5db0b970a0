//! Zipf-distributed ranks, the usual model of popularity: rank `k` (0-based) is drawn with
//! weight `1 / (k + 1)^exponent`, so a few ranks take a large share of the draws.

/// A sampler over ranks `0..n` built from the cumulative distribution.
pub struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    /// Builds the table for `n` ranks. It holds one `f64` per rank (4 MB for 500,000 ranks),
    /// and each draw is a binary search in it.
    pub fn new(n: usize, exponent: f64) -> Zipf {
        assert!(n > 0, "a Zipf distribution needs at least one rank");

        let mut cdf = Vec::with_capacity(n);
        let mut total = 0.0;
        for rank in 0..n {
            total += ((rank + 1) as f64).powf(-exponent);
            cdf.push(total);
        }
        for value in &mut cdf {
            *value /= total;
        }
        Zipf { cdf }
    }

    /// Returns the probability of drawing `rank`.
    pub fn probability(&self, rank: usize) -> f64 {
        let below = if rank == 0 { 0.0 } else { self.cdf[rank - 1] };
        self.cdf[rank] - below
    }

    pub fn sample(&self, rng: &mut fastrand::Rng) -> usize {
        let draw = rng.f64();
        // Rounding can leave the last entry a hair below 1.0, so clamp to the last rank.
        self.cdf
            .partition_point(|&value| value <= draw)
            .min(self.cdf.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_rank_is_most_likely() {
        let zipf = Zipf::new(1000, 1.0);
        let mut rng = fastrand::Rng::with_seed(7);
        let mut counts = vec![0u32; 1000];
        for _ in 0..100_000 {
            counts[zipf.sample(&mut rng)] += 1;
        }
        assert!(counts[0] > counts[1]);
        assert!(counts[1] > counts[10]);
        // Rank 0 has probability 1 / H(1000) ≈ 0.134.
        assert!((12_000..15_000).contains(&counts[0]), "{}", counts[0]);
    }

    #[test]
    fn exponent_zero_is_uniform() {
        let zipf = Zipf::new(4, 0.0);
        for rank in 0..4 {
            assert!((zipf.probability(rank) - 0.25).abs() < 1e-12);
        }
    }

    #[test]
    fn samples_stay_in_range() {
        let zipf = Zipf::new(3, 1.2);
        let mut rng = fastrand::Rng::with_seed(1);
        assert!((0..10_000).all(|_| zipf.sample(&mut rng) < 3));
    }
}
