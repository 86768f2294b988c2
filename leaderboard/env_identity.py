"""What exactly a result was measured on: env id, env version and dataset checksum.

A score is only comparable with a reference measured on the same stream, so every
result and every reference carries this identity, and the scorer refuses a mismatch.

* ``env_version`` is the id's ``-vN`` suffix plus the package version, e.g. ``"v0+0.1.0"``
  (a new package release may change a stream, so it invalidates old numbers).
* ``dataset_checksum`` identifies the data the stream is made of:

  - for a recorded dataset (Atari), the dataset's own checksum, supplied by a hook:
    either :func:`register_dataset_checksum` (``prefix`` of the env id -> function of
    ``(env_id, env_kwargs)``) or a ``dataset_checksum`` attribute (a string) on the
    unwrapped env;
  - for a synthetic task, ``"spec-sha256:"`` + the SHA-256 of its entry point and its
    full constructor arguments (defaults filled in), so a changed default is caught too.
"""
from __future__ import annotations

import hashlib
import inspect
import json
from typing import Callable

import gymnasium as gym

import rtrlbench

#: env-id prefix -> function(env_id, env_kwargs) returning the dataset checksum string.
_CHECKSUM_HOOKS: dict[str, Callable[[str, dict], str]] = {}
#: Env families made of recorded data: hashing their arguments (which include a data folder)
#: would say nothing about the data, so they must supply a checksum through a hook.
RECORDED_PREFIXES = ("AtariPrediction",)


def register_dataset_checksum(prefix: str, checksum: Callable[[str, dict], str]) -> None:
    """Let envs whose id starts with ``prefix`` (e.g. ``"AtariPrediction/"``) report their
    dataset's checksum through ``checksum(env_id, env_kwargs) -> str``."""
    _CHECKSUM_HOOKS[prefix] = checksum


def env_version(env_id: str) -> str:
    """``"v<N>+<package version>"``, e.g. ``"v0+0.1.0"``."""
    version = _spec(env_id).version
    return f"v{version if version is not None else 'none'}+{rtrlbench.__version__}"


def dataset_checksum(env_id: str, env_kwargs: dict | None = None) -> str:
    """The checksum of the data behind ``env_id`` built with ``env_kwargs`` (see module doc)."""
    env_kwargs = dict(env_kwargs or {})
    for prefix, hook in _CHECKSUM_HOOKS.items():
        if env_id.startswith(prefix):
            return str(hook(env_id, env_kwargs))
    spec = _spec(env_id)
    creator = gym.envs.registration.load_env_creator(spec.entry_point) if isinstance(spec.entry_point, str) \
        else spec.entry_point
    arguments = {**spec.kwargs, **env_kwargs}
    env = None
    declared = getattr(creator, "dataset_checksum", None)
    if declared is None or not isinstance(declared, str):
        env = gym.make(env_id, **env_kwargs).unwrapped
        declared = getattr(env, "dataset_checksum", None)
        env.close()
    if isinstance(declared, str):
        return declared
    if env_id.startswith(RECORDED_PREFIXES):
        raise ValueError(f"{env_id} is made of recorded data but reports no dataset checksum, so its results cannot "
                         "be scored yet (the env needs a `dataset_checksum` attribute or a "
                         "rtrlbench.leaderboard.env_identity.register_dataset_checksum hook)")
    return "spec-sha256:" + _spec_hash(spec.entry_point, creator, arguments)


def env_identity(env_id: str, env_kwargs: dict | None = None) -> dict[str, str]:
    """``{"env_id", "env_version", "dataset_checksum"}`` for ``env_id`` with ``env_kwargs``."""
    return {"env_id": env_id, "env_version": env_version(env_id),
            "dataset_checksum": dataset_checksum(env_id, env_kwargs)}


def _spec(env_id: str):
    if env_id not in gym.registry:
        from rtrlbench.envs.registration import unknown_env_message

        raise ValueError(unknown_env_message(env_id))
    return gym.spec(env_id)


def _spec_hash(entry_point, creator, arguments: dict) -> str:
    try:
        bound = inspect.signature(creator).bind(**arguments)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
    except (TypeError, ValueError) as error:
        raise ValueError(f"env arguments {arguments} do not fit {entry_point}: {error}") from None
    name = entry_point if isinstance(entry_point, str) else f"{creator.__module__}:{creator.__qualname__}"
    text = json.dumps({"entry_point": name, "arguments": arguments}, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()
