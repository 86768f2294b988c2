"""Run many :class:`~rtrlbench.sweep.run_spec.RunSpec` on Dask and store each result as it finishes.

The engine is Dask distributed: by default a ``LocalCluster`` with one single-threaded
worker process per core; with ``scheduler="tcp://host:8786"`` (or a scheduler file) it
attaches to an existing cluster, for example one that dask-jobqueue started on Slurm.

Workers only compute (:func:`execute` calls the run function of the spec's kind, by default
:func:`rtrlbench.run.run`, and returns the record); the client writes every result into the
:class:`ResultStore`, so workers need no shared file system, and a result is stored exactly
once however often Dask had to recompute it (for example after a worker died).
"""
from __future__ import annotations

import logging
import os
import time
import traceback as tb
from dataclasses import dataclass, field
from typing import Any, Iterable

from tqdm import tqdm

import rtrlbench
from rtrlbench.sweep.run_spec import DEFAULT_KIND, RunSpec, unavailable_reason
from rtrlbench.sweep.sweep_registry import load, run_kind
from rtrlbench.terminal import children_ignore_interrupts, show_progress
from rtrlbench.sweep.result_store import ResultStore


def execute(spec: dict[str, Any]) -> dict[str, Any]:
    """Worker side: one run (``spec`` = :meth:`RunSpec.to_dict`) by the run function of its kind,
    no progress bar; returns its result record with ``run_seconds`` added."""
    fields = dict(spec)
    compute = load(run_kind(fields.pop("kind", DEFAULT_KIND)).run)
    start = time.perf_counter()
    record = compute(fields)
    record["run_seconds"] = time.perf_counter() - start  # the run's own timing plus its set-up (env, learner, scoring)
    return record


def run_prediction(spec: dict[str, Any]) -> dict[str, Any]:
    """Run kind ``"prediction"``: the result record of ``rtrlbench run`` with ``curve_steps``
    (step at the end of each curve block) added."""
    from rtrlbench.run import run

    record = run(progress=False, **spec)
    record["curve_steps"] = [(i + 1) * record["curve_window"] for i in range(len(record["curve"]))]
    return record


@dataclass
class RunReport:
    """What one :meth:`DaskEngine.run` call did (run ids)."""

    completed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # run id -> error message
    seconds: float = 0.0
    messages: set[str] = field(default_factory=set, repr=False)  # distinct failure messages

    def summary(self) -> str:
        text = (f"{len(self.completed)} run(s) computed, {len(self.skipped)} already stored, "
                f"{len(self.failed)} failed, in {self.seconds:.1f} s")
        if self.failed:
            text += f" ({len(self.messages)} distinct error(s); `rtrlbench results --failed` lists them)"
        return text


class DaskEngine:
    """A Dask client (and, without ``scheduler``, the local cluster it owns). Use as a context manager.

    scheduler: address (``tcp://127.0.0.1:8786``) or path of a scheduler JSON file of a running
        Dask cluster; None starts a ``LocalCluster``.
    workers:   worker processes of the local cluster (default: one per core).
    processes: False runs the local workers as threads of this process (tests, debugging).
    """

    def __init__(self, scheduler: str | None = None, workers: int | None = None, processes: bool = True,
                 verbose: bool = False) -> None:
        self.scheduler, self.workers, self.processes, self.verbose = scheduler, workers, processes, verbose
        self.cluster = None
        self._client = None

    @property
    def client(self):
        """The Dask client, connected (and the local cluster started) on first use."""
        if self._client is None:
            from dask.distributed import Client, LocalCluster

            if self.scheduler is None:
                with children_ignore_interrupts():  # Ctrl-C stops the sweep here, not each worker
                    self.cluster = LocalCluster(n_workers=self.workers or os.cpu_count() or 1, threads_per_worker=1,
                                                processes=self.processes, dashboard_address="127.0.0.1:0",
                                                silence_logs=logging.CRITICAL)
                self._client = Client(self.cluster)
            elif os.path.isfile(self.scheduler):
                self._client = Client(scheduler_file=self.scheduler, timeout="30s")
            else:
                self._client = Client(self.scheduler, timeout="30s")
            if self.verbose:
                print(f"Dask: {self.n_workers} worker(s) at {self._client.scheduler.address}")
        return self._client

    def __enter__(self) -> "DaskEngine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self.cluster is not None:
            self.cluster.close()
        self._client = self.cluster = None

    @property
    def n_workers(self) -> int:
        return len(self.client.scheduler_info(n_workers=-1)["workers"])

    def run(self, specs: Iterable[RunSpec], store: ResultStore, progress: bool = True,
            desc: str = "runs") -> RunReport:
        """Compute every spec not yet in ``store`` and store each result as it arrives.

        A run that raises (or that names a learner or env this installation lacks) is
        reported with its error and recorded under ``failed/``; the others go on.
        On KeyboardInterrupt the pending runs are cancelled; stored results stay valid.
        """
        from dask.distributed import as_completed

        start = time.perf_counter()
        specs = list(specs)
        todo = store.missing(specs)
        report = RunReport(skipped=sorted({s.run_id for s in specs} - {s.run_id for s in todo}))
        runnable = []
        for spec in todo:
            reason = unavailable_reason(spec)
            if reason:
                self._fail(store, report, spec, reason, "", progress)
            else:
                runnable.append(spec)
        if not runnable:
            report.seconds = time.perf_counter() - start
            return report
        by_key = {}
        futures = []
        for spec in runnable:
            future = self.client.submit(execute, spec.to_dict(), key=f"rtrlbench-run-{spec.run_id}", pure=False)
            by_key[future.key] = spec
            futures.append(future)
        bar = tqdm(total=len(runnable), unit="run", desc=desc, disable=not show_progress(progress), dynamic_ncols=True)
        try:
            for future in as_completed(futures):
                spec = by_key[future.key]
                if future.status == "finished":
                    self._store(store, report, spec, future.result(), progress)
                else:
                    try:
                        error = future.exception()
                    except Exception as cancelled:  # e.g. CancelledError: the cluster dropped the task
                        error = cancelled
                    trace = "".join(tb.format_exception(error)) if error is not None else ""
                    self._fail(store, report, spec, f"{type(error).__name__}: {error}", trace, progress)
                future.release()
                bar.update(1)
                bar.set_postfix(failed=len(report.failed), refresh=False)
        except BaseException:
            self.client.cancel(futures)
            raise
        finally:
            bar.close()
            report.seconds = time.perf_counter() - start
        return report

    def _store(self, store: ResultStore, report: RunReport, spec: RunSpec, record: dict, progress: bool) -> None:
        if record["package_version"] != rtrlbench.__version__:  # the run id promises this version's code
            message = (f"the worker ran rtrl-bench {record['package_version']}, this client is "
                       f"{rtrlbench.__version__}: install the same version on the workers")
            return self._fail(store, report, spec, message, "", progress)
        try:
            store.put(spec, record)
            report.completed.append(spec.run_id)
        except ValueError as error:  # e.g. a NaN in the record, which JSON cannot hold
            self._fail(store, report, spec, f"result not storable: {error}", "", progress)

    @staticmethod
    def _fail(store: ResultStore, report: RunReport, spec: RunSpec, message: str, trace: str, progress: bool) -> None:
        """Record a failure; print each distinct message once (a missing data set can fail thousands of runs)."""
        repeated = message in report.messages
        report.failed[spec.run_id] = message
        report.messages.add(message)
        store.put_failure(spec, message, trace)
        if not repeated:
            line = f"run {spec.run_id} failed [{spec.describe()}]: {message}"
            tqdm.write(line) if progress else logging.getLogger("rtrlbench.sweep").warning(line)
