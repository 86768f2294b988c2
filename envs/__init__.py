"""Prediction streams and their Gymnasium envs (registered by ``import rtrlbench``)."""
