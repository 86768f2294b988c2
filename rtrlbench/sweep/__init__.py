"""Sweeps: a paper experiment as resumable runs on Dask, tuned and rerun.

* :mod:`.experiment_definition` - ``Experiment``, ``Method``, ``Budget``: what an experiment is.
* :mod:`.sweep_registry` - the experiments and run kinds other packages register.
* :mod:`.run_spec` - one run (``RunSpec``), its stable id, grid expansion.
* :mod:`.dask_engine` - run many specs on Dask and store each result as it finishes.
* :mod:`.result_store` - one JSON file per finished run, written atomically.
* :mod:`.tune_and_rerun` - tuning, selection, final runs (``sweep``, ``collect``).
* :mod:`.result_analysis` - seed-averaged curves, normalised errors, the store as a DataFrame.
* :mod:`.sweep_commands` - ``rtrlbench experiments``, ``sweep`` and ``results``.
"""
