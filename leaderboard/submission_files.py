"""The leaderboard's source of truth: one JSON file per submission in ``leaderboard/submissions/``.

A stored file is a submission document (``submission.schema.json``) plus what the
leaderboard adds to it:

* ``submitted_at``: when it was accepted (UTC, ISO 8601, seconds);
* ``verifications``: one record per rerun, in order, each ``{verified_at, verified_by,
  package_version, tolerance, passed, details: [{env_id, seed, submitted, rerun, agree}]}``.

Files are named by method and budget (:func:`file_name`, e.g.
``zero-predictor__500k-1m.json``) and written in one canonical layout (:func:`dumps`): keys
sorted, two-space indent, every list of numbers (a learning curve) on one line, so that a
pull request adding or verifying a submission is a small, reviewable text diff. The
database, ``README.md`` and ``site/`` are built from these files (:mod:`.board_build`).
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from rtrlbench.atomic import atomic_path

SUBMISSIONS_DIR = Path(__file__).resolve().parent / "submissions"
#: Keys a stored file holds beyond the submitted document.
STORED_KEYS = ("submitted_at", "verifications")


@dataclass
class StoredSubmission:
    """One file of the folder: the submitted document and the leaderboard's additions."""

    document: dict
    submitted_at: str
    verifications: list[dict] = field(default_factory=list)
    path: Path | None = None

    @classmethod
    def from_json(cls, data: dict, path: Path | None = None) -> "StoredSubmission":
        document = {k: v for k, v in data.items() if k not in STORED_KEYS}
        return cls(document, data.get("submitted_at") or "", list(data.get("verifications") or []), path)

    def to_json(self) -> dict:
        return {**self.document, "submitted_at": self.submitted_at, "verifications": self.verifications}

    @property
    def name(self) -> str:
        """The file name this submission must have (see :func:`file_name`)."""
        return file_name(self.document)


def file_name(document: dict) -> str:
    """``<method slug>__<budgets>.json``: the method name lower-cased with runs of other
    characters as ``-``, then each distinct step budget, ascending (``500k``, ``1m``, ``1.5m``)."""
    from rtrlbench.leaderboard.tables import slug

    budgets = sorted({result["steps"] for result in document["results"]})
    return f"{slug(document['method']['name']) or 'method'}__{'-'.join(map(budget_label, budgets))}.json"


def budget_label(steps: int) -> str:
    """``500000 -> "500k"``, ``1000000 -> "1m"``, ``20000 -> "20k"``, ``1234 -> "1234"``."""
    for unit, size in (("m", 1_000_000), ("k", 1_000)):
        if steps >= size and (steps * 10) % size == 0:
            return f"{steps / size:g}{unit}"
    return str(steps)


def dumps(stored: StoredSubmission) -> str:
    """The canonical text of a stored file (same content -> same bytes)."""
    return _format(stored.to_json(), "") + "\n"


def _format(value, indent: str) -> str:
    inner = indent + "  "
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(k)}: {_format(value[k], inner)}" for k in sorted(value)]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):  # scalars (a curve, seeds): one line
            return json.dumps(value, allow_nan=False)
        return "[\n" + ",\n".join(inner + _format(v, inner) for v in value) + "\n" + indent + "]"
    return json.dumps(value, allow_nan=False)


def load_folder(folder: str | Path = SUBMISSIONS_DIR) -> list[StoredSubmission]:
    """Every ``*.json`` in ``folder`` (none if it does not exist), oldest first: ordered by
    ``submitted_at``, then file name. Their order gives the table's ID numbers (1, 2, ...)."""
    folder = Path(folder)
    stored = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{path}: not valid JSON: {error}") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a submission file holds a JSON object")
        stored.append(StoredSubmission.from_json(data, path))
    return sorted(stored, key=order)


def order(stored: StoredSubmission) -> tuple[str, str]:
    """The table's order of submissions (and so their IDs): ``submitted_at``, then file name."""
    return stored.submitted_at, stored.path.name if stored.path is not None else stored.name


def write(stored: StoredSubmission, folder: str | Path = SUBMISSIONS_DIR) -> Path:
    """Write ``stored`` to ``folder/<its file name>`` atomically (canonical layout); returns the path."""
    path = Path(folder) / stored.name
    with atomic_path(path) as tmp:
        tmp.write_text(dumps(stored))
    stored.path = path
    return path


def find(stored: list[StoredSubmission], which: str | int) -> tuple[int, StoredSubmission]:
    """``(id, submission)`` for ``which``: a table ID (1-based position in ``stored``), or a file
    name or path (with or without ``.json``)."""
    text = str(which)
    if text.isdigit():
        number = int(text)
        if 1 <= number <= len(stored):
            return number, stored[number - 1]
    else:
        stem = Path(text).name.removesuffix(".json")
        for number, item in enumerate(stored, 1):
            if item.path is not None and item.path.stem == stem:
                return number, item
    listing = ", ".join(f"#{i} {s.path.name if s.path else s.name}" for i, s in enumerate(stored, 1))
    raise KeyError(f"no submission {which!r} in the leaderboard (have: {listing or 'none'})")


def now() -> str:
    """The current UTC time as the files record it."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
