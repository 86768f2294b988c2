"""Read and check a leaderboard submission (format: ``submission.schema.json``).

Every refusal is a :class:`SubmissionError` whose message starts with the offending
field's path, e.g. ``results[0].runs[2].final_msre: ...``. Checks, in order: size,
JSON syntax, finite numbers, the JSON schema, markup in text, then content (package
version, env identity, curves consistent with final errors, no repeated env or seed).
Seeds and budgets are checked against the references by :mod:`.scoring`.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from functools import lru_cache
from pathlib import Path

import rtrlbench
from rtrlbench.leaderboard.env_identity import env_identity

SCHEMA_PATH = Path(__file__).resolve().parent / "submission.schema.json"
#: Largest submission file accepted (bytes).
MAX_BYTES = 16 * 2**20
#: Relative slack when checking a final MSRE against the curve (float rounding only).
CURVE_RTOL = 1e-6
#: Text that could become markup or script in a page (a tag start, a script URL) or hide what it says.
_MARKUP = re.compile(r"<[A-Za-z!/?]|javascript\s*:|vbscript\s*:|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
                     r"|[\u202a-\u202e\u2066-\u2069]", re.IGNORECASE)  # last: bidi overrides that disguise text


class SubmissionError(ValueError):
    """A submission was refused; ``field`` is the path of the offending field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.reason = message
        super().__init__(f"{field}: {message}" if field else message)


def load_submission(path: str | Path) -> dict:
    """Read ``path`` and return the checked submission (see :func:`check_submission`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no submission file at {path}")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise SubmissionError("(file)", f"{size:,} bytes is over the {MAX_BYTES:,}-byte limit; "
                              "use a coarser curve_window")
    return parse_submission(path.read_bytes())


def parse_submission(data: bytes | str) -> dict:
    """Parse JSON text and check it."""
    if len(data) > MAX_BYTES:
        raise SubmissionError("(file)", f"{len(data):,} bytes is over the {MAX_BYTES:,}-byte limit")
    try:
        document = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise SubmissionError("(file)", f"not valid JSON: {error}") from None
    except RecursionError:
        raise SubmissionError("(file)", "not valid JSON: nested too deeply") from None
    return check_submission(document)


def check_submission(document, local_identity: bool = True) -> dict:
    """Run every reference-independent check on a parsed submission; returns it unchanged.

    ``local_identity=False`` skips comparing each result's env version and dataset checksum
    with this installation's envs (which needs the Atari data sets on disk); the build of the
    submission files does that, since scoring already requires them to equal the reference's."""
    _check_finite(document, "")
    _check_schema(document)
    _check_text(document, "")
    if document["package_version"] != rtrlbench.__version__:
        raise SubmissionError("package_version", f"results from rtrl-bench {document['package_version']!r} cannot be "
                              f"scored by rtrl-bench {rtrlbench.__version__!r}: streams may differ between versions; "
                              "rerun with this version")
    seen = set()
    for i, result in enumerate(document["results"]):
        where = f"results[{i}]"
        if result["env_id"] in seen:
            raise SubmissionError(f"{where}.env_id", f"{result['env_id']!r} appears twice; give one result per env")
        seen.add(result["env_id"])
        if local_identity:
            _check_identity(result, where)
        _check_runs(result, where)
    return document


def results_hash(document: dict) -> str:
    """SHA-256 of the numbers (env, steps, seeds, final errors, curves): equal for a copy of
    someone's results under another name."""
    numbers = sorted(
        (r["env_id"], r["steps"], run["seed"], run["final_msre"], run["curve"])
        for r in document["results"] for run in r["runs"]
    )
    return hashlib.sha256(json.dumps(numbers).encode()).hexdigest()


@lru_cache(maxsize=1)
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


# ---------------------------------------------------------------------- checks
def _check_finite(value, where: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise SubmissionError(where or "(document)", f"{value} is not a finite number")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_finite(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_finite(item, f"{where}[{i}]")


def _check_schema(document) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is None:
        return
    field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
    message = error.message
    if error.validator == "additionalProperties":
        message += f" (allowed: {', '.join(sorted(error.schema.get('properties', {})))})"
    elif error.validator in ("required",):
        message += "; see leaderboard/submission.schema.json"
    raise SubmissionError(field or "(document)", message[:500])


def _check_text(value, where: str) -> None:
    if isinstance(value, str) and _MARKUP.search(value):
        raise SubmissionError(where, "markup, script or control characters are not allowed in text fields "
                              f"(found {_MARKUP.search(value).group()!r}); write plain text")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, where)
            _check_text(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_text(item, f"{where}[{i}]")


def _check_identity(result: dict, where: str) -> None:
    try:
        identity = env_identity(result["env_id"])
    except ValueError as error:
        raise SubmissionError(f"{where}.env_id", str(error)) from None
    for key in ("env_version", "dataset_checksum"):
        if result[key] != identity[key]:
            raise SubmissionError(f"{where}.{key}", f"{result[key]!r} does not match {identity[key]!r} of "
                                  f"{result['env_id']} in this package: the results were measured on a different "
                                  "stream (other version, env arguments or dataset)")


def _check_runs(result: dict, where: str) -> None:
    seeds = [run["seed"] for run in result["runs"]]
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        raise SubmissionError(f"{where}.runs", f"seed(s) {repeated} appear more than once")
    if result["final_window"] > result["steps"]:
        raise SubmissionError(f"{where}.final_window", f"{result['final_window']:,} is more than steps "
                              f"({result['steps']:,})")
    for j, run in enumerate(result["runs"]):
        check_curve(run["final_msre"], run["curve"], result["steps"], result["final_window"], result["curve_window"],
                    f"{where}.runs[{j}]")


def check_curve(final_msre: float, curve: list[float], steps: int, final_window: int, curve_window: int,
                where: str) -> None:
    """The curve must have ``steps // curve_window`` points, and ``final_msre`` must be
    reachable from it. Counting back from the end, the final window holds the steps after
    the last whole block (their errors are not in the curve), whole blocks, then part of one
    block; squared errors are >= 0, so the window's sum lies between the whole blocks' sum
    and that plus the partial block's full sum (unbounded above if a tail exists)."""
    blocks = steps // curve_window
    if len(curve) != blocks:
        raise SubmissionError(f"{where}.curve", f"has {len(curve)} points; {steps:,} steps in blocks of "
                              f"{curve_window:,} give {blocks}")
    tail = steps - blocks * curve_window
    inside = max(final_window - tail, 0)  # window steps that fall in whole blocks
    whole = inside // curve_window
    partial = inside - whole * curve_window
    low = sum(curve[blocks - whole:]) * curve_window / final_window
    high = low + (curve[blocks - whole - 1] * curve_window / final_window if partial else 0.0)
    if tail:
        high = math.inf
    slack = CURVE_RTOL * max(low, high if math.isfinite(high) else low)
    if not low - slack <= final_msre <= high + slack:
        bound = f"{low:.9g}" if low == high else f"between {low:.9g} and {high:.9g}"
        raise SubmissionError(f"{where}.final_msre", f"{final_msre!r} is inconsistent with the curve, whose last "
                              f"{final_window:,} steps give {bound}")
