"""The paper's experiments, sweeps, speed benchmarks and plots."""
