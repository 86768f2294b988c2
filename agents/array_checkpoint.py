"""Checkpoints of learners whose state is a NamedTuple of arrays and a hyperparameter dict:
what :meth:`Learner.get_state` adds, and the checks :meth:`Learner.set_state` makes before
copying the arrays back in place (so compiled kernels keep seeing the same arrays)."""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np


def array_checkpoint(arrays: NamedTuple, hyperparameters: dict[str, Any], n_inputs: int) -> dict[str, Any]:
    """Copies of every array, with the hyperparameters and input size they belong to."""
    return {"hyperparameters": hyperparameters, "n_inputs": n_inputs,
            "arrays": {key: value.copy() for key, value in arrays._asdict().items()}}


def restore_arrays(arrays: NamedTuple, state: dict[str, Any], hyperparameters: dict[str, Any], n_inputs: int) -> None:
    """Copy ``state``'s arrays into ``arrays`` in place, refusing a checkpoint of another learner."""
    if state.get("hyperparameters") != hyperparameters or state.get("n_inputs") != n_inputs:
        raise ValueError("this checkpoint belongs to a learner with other hyperparameters or input size; "
                         "build the learner with the checkpoint's hyperparameters first")
    saved = state["arrays"]
    for key, value in arrays._asdict().items():
        if np.shape(saved[key]) != value.shape:
            raise ValueError(f"checkpoint array {key!r} has shape {np.shape(saved[key])}, expected {value.shape}")
    for key, value in arrays._asdict().items():
        value[...] = saved[key]
