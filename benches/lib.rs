//! Criterion benchmarks live in `benches/`: `cargo bench -p rill-benches`.
