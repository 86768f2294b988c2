"""Dataset generation: Rainbow-DQN rollouts to 16x16 Atari prediction streams in HDF5."""
