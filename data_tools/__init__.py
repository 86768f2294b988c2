"""Data for the Atari prediction benchmark (``rtrlbench data ...``).

* :mod:`policies`: the recorded Rainbow-DQN action files, their shipped checksums, download and cache.
* :mod:`rainbow`: record a pfrl Rainbow agent's greedy play in the same action-file format.
* :mod:`replay`: replay an action file in ALE and downscale its screens to 16x16.
* :mod:`hdf5_dataset`: the per-game HDF5 file (layout, atomic writer, validating reader).
* :mod:`generate`: action file -> replay -> HDF5, for one game or many in parallel.
* :mod:`cli`: the ``rtrlbench data`` subcommands.
"""
