"""What sweeps can run: run kinds and experiments, registered by the packages that define them.

The sweep machinery knows only its own run kind, ``"prediction"`` (:func:`rtrlbench.run.run`,
tuned by the lowest final error). Everything else registers itself here:
experiments (``register_experiment``) and run kinds with their own run and selection
functions (``register_run_kind``), from modules that import the sweep, never the other way
round (bsuite's direction: sweep <- experiments). A package announces such a module with an
entry point in the group :data:`ENTRY_POINT_GROUP`, which is imported on the first lookup,
in the client and on every Dask worker alike; the suite's own is
``rtrlbench.benchmarks.experiments`` (``pyproject.toml``)::

    [project.entry-points."rtrlbench.sweep"]
    paper = "rtrlbench.benchmarks.experiments"

References are ``"module:attribute"`` strings, imported on first use, so that listing
experiments or submitting runs compiles nothing and Dask workers import the run function
by name.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib import metadata

from rtrlbench.sweep.run_spec import DEFAULT_KIND

#: Entry-point group of the modules that register experiments and run kinds.
ENTRY_POINT_GROUP = "rtrlbench.sweep"


@dataclass(frozen=True)
class RunKind:
    """What a run of this kind computes and how tuning picks among configurations, as importable
    ``"module:function"`` names (Dask workers import the run function by name).

    run:    ``run(spec_fields) -> record`` (a JSON-able dict holding ``package_version``); called on a
            worker with the :class:`~rtrlbench.sweep.run_spec.RunSpec` fields except ``kind``.
    select: ``select(configurations, records) -> (scores, winner index or None)``, with
            ``records[config][task][seed]`` the stored records of the tuning runs (None if not stored).
    """

    run: str
    select: str


#: kind name -> :class:`RunKind`; the prediction kind: rtrlbench.run.run, lowest mean final MSRE
#: relative to the best configuration per task.
_RUN_KINDS: dict[str, RunKind] = {
    DEFAULT_KIND: RunKind("rtrlbench.sweep.dask_engine:run_prediction",
                          "rtrlbench.sweep.tune_and_rerun:select_by_final_error"),
}
#: experiment name -> ``"module:attribute"`` of its :class:`~rtrlbench.sweep.experiment_definition.Experiment`.
_EXPERIMENTS: dict[str, str] = {}
_plugins_loaded = False


def register_run_kind(name: str, kind: RunKind) -> None:
    """Make run kind ``name`` known (registering the same kind twice is harmless)."""
    _register(_RUN_KINDS, "run kind", name, kind)


def register_experiment(name: str, reference: str) -> None:
    """Make experiment ``name`` known; ``reference`` = ``"module:attribute"`` of its Experiment."""
    _register(_EXPERIMENTS, "experiment", name, reference)


def _register(table: dict, what: str, name: str, value) -> None:
    if table.get(name, value) != value:
        raise ValueError(f"{what} {name!r} is already registered as {table[name]!r}, not {value!r}")
    table[name] = value


def run_kinds() -> dict[str, RunKind]:
    """Every registered run kind, by name (the entry-point modules imported first)."""
    _load_plugins()
    return dict(_RUN_KINDS)


def run_kind(name: str) -> RunKind:
    kinds = run_kinds()
    try:
        return kinds[name]
    except KeyError:
        raise ValueError(f"unknown run kind {name!r}; known kinds: {', '.join(kinds)}") from None


def experiment_names() -> list[str]:
    """Every registered experiment, in registration order."""
    _load_plugins()
    return list(_EXPERIMENTS)


def get_experiment(name: str):
    """The :class:`~rtrlbench.sweep.experiment_definition.Experiment` registered as ``name``."""
    _load_plugins()
    try:
        reference = _EXPERIMENTS[name]
    except KeyError:
        raise ValueError(f"unknown experiment {name!r}; known experiments: {', '.join(_EXPERIMENTS)}") from None
    return load(reference)


def load(reference: str):
    """The object a ``"module:attribute"`` reference names."""
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)


def _load_plugins() -> None:
    """Import every module announced in :data:`ENTRY_POINT_GROUP` (once per process)."""
    global _plugins_loaded
    if not _plugins_loaded:
        _plugins_loaded = True
        for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
            entry_point.load()
