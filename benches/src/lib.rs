//! Benchmarks of taskproof; see `benches/` and `scripts/`.
