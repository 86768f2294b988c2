"""The results store of sweeps: one JSON file per finished run, written atomically.

Layout of a store folder::

    runs/<run_id>.json     {"run_id", "spec", "result"}: result is the record of the
                           run's kind: for prediction runs that of `rtrlbench run` (final
                           error, learning curve, timing ...), for Williams-Zipser criterion
                           runs success, steps to criterion, final MSE, probe curve ...
    failed/<run_id>.json   {"run_id", "spec", "error", "traceback"}: the last failure;
                           removed when the run later succeeds
    selections/<name>.json which configuration won each method's tuning stage

A record appears only when complete (write-then-rename), so a crash or Ctrl-C never
leaves half a result, and a sweep resumes by skipping the ids already in ``runs/``.
"""
from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any, Iterable, Iterator

from rtrlbench.atomic import write_json
from rtrlbench.sweep.run_spec import RunSpec

#: Where ``rtrlbench sweep`` and ``rtrlbench results`` keep results unless told otherwise.
DEFAULT_STORE = "sweep-results"


class ResultStore:
    """A folder of run records keyed by run id."""

    def __init__(self, root: str | Path = DEFAULT_STORE) -> None:
        self.root = Path(root)
        self.runs_dir = self.root / "runs"
        self.failed_dir = self.root / "failed"

    # ------------------------------------------------------------------ runs
    def has(self, run_id: str) -> bool:
        return (self.runs_dir / f"{run_id}.json").is_file()

    def get(self, run_id: str) -> dict[str, Any] | None:
        """The stored record of ``run_id`` (``{"run_id", "spec", "result"}``), or None."""
        path = self.runs_dir / f"{run_id}.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def put(self, spec: RunSpec, result: dict[str, Any]) -> Path:
        """Store a finished run (atomically) and forget any earlier failure of it."""
        run_id = spec.run_id
        path = write_json(self.runs_dir / f"{run_id}.json", {"run_id": run_id, "spec": spec.to_dict(), "result": result})
        with contextlib.suppress(FileNotFoundError):
            (self.failed_dir / f"{run_id}.json").unlink()
        return path

    def missing(self, specs: Iterable[RunSpec]) -> list[RunSpec]:
        """The specs not yet stored, without duplicates, in their given order."""
        seen, todo = set(), []
        for spec in specs:
            run_id = spec.run_id
            if run_id not in seen and not self.has(run_id):
                seen.add(run_id)
                todo.append(spec)
        return todo

    def records(self) -> Iterator[dict[str, Any]]:
        """Every stored run record, in run-id order."""
        for path in sorted(self.runs_dir.glob("*.json")):
            yield json.loads(path.read_text())

    def frame(self, curves: bool = False):
        """The stored runs as a pandas DataFrame (see :func:`rtrlbench.sweep.result_analysis.results_frame`)."""
        from rtrlbench.sweep.result_analysis import results_frame

        return results_frame(self.records(), curves=curves)

    # -------------------------------------------------------------- failures
    def put_failure(self, spec: RunSpec, error: str, traceback: str = "") -> Path:
        return write_json(self.failed_dir / f"{spec.run_id}.json",
                          {"run_id": spec.run_id, "spec": spec.to_dict(), "error": error, "traceback": traceback})

    def failures(self) -> Iterator[dict[str, Any]]:
        for path in sorted(self.failed_dir.glob("*.json")):
            yield json.loads(path.read_text())

    # ------------------------------------------------------------ selections
    def put_selection(self, name: str, selection: dict[str, Any]) -> Path:
        return write_json(self.root / "selections" / f"{name}.json", selection)
