"""Argument checks shared by every learner, env and command, with one message style.

Each check returns the value converted to its plain Python type, or raises ``ValueError``
with a message that starts with the argument's name and ends with the value it got:

    positive_int("n_hidden", 0)   -> ValueError: n_hidden must be a positive integer, got 0
    step_size(float("nan"))       -> ValueError: alpha (step size) must be a finite number >= 0, got nan

Numbers: ``bool`` is never a number here (``True`` is not a step size), Python and NumPy
integers are integers, and Python and NumPy integers and floats (``np.float32(1e-4)``)
are real numbers; anything else (strings, None, arrays) is refused.

The step-size rule, the same for every learner: ``alpha`` is a finite number >= 0, and
``alpha = 0`` freezes the weights (the learner still runs its forward pass and its
gradient traces: what gradient checks and evaluation of a fixed network need).
"""
from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any, Collection

import numpy as np


def is_integer(value) -> bool:
    """True for Python and NumPy integers, False for bools and everything else."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_real(value) -> bool:
    """True for Python and NumPy integers and floats, False for bools and everything else."""
    return is_integer(value) or isinstance(value, (float, np.floating))


def int_at_least(name: str, value, minimum: int) -> int:
    """``value`` as an int if it is an integer >= ``minimum``."""
    if not is_integer(value) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def positive_int(name: str, value) -> int:
    """``value`` as an int if it is an integer >= 1."""
    if not is_integer(value) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def positive_float(name: str, value) -> float:
    """``value`` as a float if it is a finite real number > 0."""
    if not is_real(value) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def non_negative_float(name: str, value) -> float:
    """``value`` as a float if it is a finite real number >= 0."""
    if not is_real(value) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def step_size(value, name: str = "alpha (step size)") -> float:
    """A learner's step size: a finite number >= 0 (0 freezes the weights; module docstring)."""
    return non_negative_float(name, value)


def unit_interval(name: str, value, *, low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a float if it lies in [0, 1]; ``low_open`` / ``high_open`` exclude 0 / 1."""
    low, high = "(" if low_open else "[", ")" if high_open else "]"
    inside = is_real(value) and (0 < value if low_open else 0 <= value) and (value < 1 if high_open else value <= 1)
    if not inside:
        raise ValueError(f"{name} must lie in {low}0, 1{high}, got {value!r}")
    return float(value)


def probability(name: str, value) -> float:
    """``value`` as a float if it is a probability, in [0, 1]."""
    return unit_interval(name, value)


def choice(name: str, value, options: Collection, hint: str = "") -> Any:
    """``value`` if it is one of ``options`` (listed in their order in the message, with ``hint``)."""
    try:
        known = value in options and not isinstance(value, (bool, np.bool_))
    except TypeError:  # unhashable, e.g. a list
        known = False
    if not known:
        raise ValueError(f"{name} must be one of {list(options)}, got {value!r}{hint}")
    return value


def writable_folder(name: str, path) -> Path:
    """``path`` as a folder this process can write files in (created if missing), checked by
    writing and removing a probe file, or a ValueError naming the option and the reason."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".rtrlbench-write-test-"):
            pass
    except OSError as error:
        raise ValueError(f"{name} {str(path)!r}: cannot write there ({error.strerror or error}); choose a folder "
                         "you can write to") from None
    return path


def json_object(text: str, what: str) -> dict:
    """Parse a JSON object given on the command line as option ``what``, naming it when it is not one."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{what} must be a JSON object, e.g. '{{\"alpha\": 0.001}}': {error}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object, got {text!r}")
    return value
