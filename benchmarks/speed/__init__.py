"""Speed and memory measurements: learners, streams, the sweep runner, T-BPTT against PyTorch."""
