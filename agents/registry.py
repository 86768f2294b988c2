"""Learners by name, for ``rtrlbench run --learner NAME`` and sweeps.

Each entry maps a name to ``"module:Class"``; the module is imported on first use so
that listing learners does not compile anything. The class is called as
``Class(n_inputs, seed=seed, **hyperparameters)`` (``seed`` only if it accepts one).
``oracle`` is not here: it belongs to a stream (``stream.oracle()``).
"""
from __future__ import annotations

import importlib
import inspect

from rtrlbench.learner_interface import Learner

LEARNERS: dict[str, str] = {
    "zero": "rtrlbench.agents.zero:ZeroPredictor",
    "rtrl": "rtrlbench.agents.rtrl:RTRL",
    "columnar": "rtrlbench.agents.ccn:ColumnarLearner",
    "constructive": "rtrlbench.agents.ccn:ConstructiveLearner",
    "ccn": "rtrlbench.agents.ccn:CCNLearner",
    "tbptt": "rtrlbench.agents.tbptt:TBPTTLearner",
    "lstm_rtrl": "rtrlbench.agents.lstm_rtrl:LSTMRTRLLearner",
    "snap1": "rtrlbench.agents.lstm_rtrl:SnAp1Learner",
    "uoro": "rtrlbench.agents.lstm_rtrl:UOROLearner",
    "rnn_rtrl": "rtrlbench.agents.rnn_rtrl:TanhRNNRTRLLearner",
    "rnn_uoro": "rtrlbench.agents.rnn_rtrl:TanhRNNUOROLearner",
    "rflo": "rtrlbench.agents.rnn_rtrl:RFLOLearner",
    "swifttd": "rtrlbench.agents.swift_td:SwiftTDLearner",
    "swifttd_package": "rtrlbench.agents.swift_td:SwiftTDPackageLearner",
    "rtu_linear": "rtrlbench.agents.rtu:LinearRTULearner",
    "rtu_nonlinear": "rtrlbench.agents.rtu:NonLinearRTULearner",
    "lru": "rtrlbench.agents.online_lru:OnlineLRULearner",
    "elstm": "rtrlbench.agents.elstm:ELSTMLearner",
}


def learner_class(name: str) -> type[Learner]:
    try:
        target = LEARNERS[name]
    except KeyError:
        known = ", ".join(sorted([*LEARNERS, "oracle"]))
        raise ValueError(f"unknown learner {name!r}; known learners: {known}") from None
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)


def make_learner(name: str, n_inputs: int, seed: int = 0, **hyperparameters) -> Learner:
    """Build the learner ``name`` for observations of size ``n_inputs``."""
    cls = learner_class(name)
    params = inspect.signature(cls).parameters
    if "seed" in params:
        hyperparameters["seed"] = seed
    unknown = [k for k in hyperparameters if k not in params and not _takes_kwargs(params)]
    if unknown:
        allowed = ", ".join(p for p in params if p not in ("self", "n_inputs"))
        raise ValueError(f"learner {name!r} has no hyperparameter(s) {unknown}; it takes: {allowed or 'none'}")
    return cls(n_inputs, **hyperparameters)


def _takes_kwargs(params) -> bool:
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
