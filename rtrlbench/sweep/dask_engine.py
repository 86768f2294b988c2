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
from rtrlbench.validation import positive_int

#: Runs per population task by default: the best population size of the column networks in
#: ``benchmarks/speed/speed_population.py`` (docs/sweeps.md, "Population runs").
DEFAULT_POPULATION_SIZE = 64
#: Fewer runs than this run alone: below about 16-24 runs a population is no faster than its runs
#: one by one (speed_population: 0.4-0.9x at R <= 8, 0.95-1.7x at 16, 1.45-2.4x at 32).
MIN_POPULATION = 24


def execute(spec: dict[str, Any]) -> dict[str, Any]:
    """Worker side: one run (``spec`` = :meth:`RunSpec.to_dict`) by the run function of its kind,
    no progress bar; returns its result record with ``run_seconds`` added."""
    fields = dict(spec)
    compute = load(run_kind(fields.pop("kind", DEFAULT_KIND)).run)
    start = time.perf_counter()
    record = compute(fields)
    record["run_seconds"] = time.perf_counter() - start  # the run's own timing plus its set-up (env, learner, scoring)
    return record


def execute_population(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Worker side: prediction runs that share a population key, learned together
    (:func:`rtrlbench.population_run.run_population`); per spec its record (as :func:`run_prediction`
    would give it, ``run_seconds`` being its share of the population's time) or ``{"error": message}``."""
    from rtrlbench.population_run import run_population

    start = time.perf_counter()
    fields = [{k: v for k, v in spec.items() if k != "kind"} for spec in specs]
    records = run_population(fields)
    share = (time.perf_counter() - start) / len(specs)
    for record in records:
        if "error" not in record:
            record["curve_steps"] = _curve_steps(record)
            record["run_seconds"] = share
    return records


def population_tasks(specs: list[RunSpec], size: int, minimum: int = MIN_POPULATION) -> list[list[RunSpec]]:
    """``specs`` as tasks: prediction runs that can share a population learner
    (:func:`rtrlbench.population_run.population_key`) in groups of at most ``size`` (split evenly), every
    other run alone, after the populations; groups of fewer than ``minimum`` runs run alone too (a
    small population is slower than its runs alone); ``size = 1`` runs everything alone."""
    from rtrlbench.population_run import population_key

    groups: dict[str, list[RunSpec]] = {}
    alone = []
    for spec in specs:
        key = population_key(spec.to_dict()) if size > 1 and spec.kind == DEFAULT_KIND else None
        if key is None:
            alone.append([spec])
        else:
            groups.setdefault(key, []).append(spec)
    tasks = []
    for group in groups.values():
        if len(group) < minimum:
            alone += [[spec] for spec in group]
            continue
        n_tasks = -(-len(group) // size)
        tasks += [group[i::n_tasks] for i in range(n_tasks)]
    return tasks + alone  # the long tasks first: they are submitted (and, on a busy cluster, started) first


def _curve_steps(record: dict[str, Any]) -> list[int]:
    return [(i + 1) * record["curve_window"] for i in range(len(record["curve"]))]


def run_prediction(spec: dict[str, Any]) -> dict[str, Any]:
    """Run kind ``"prediction"``: the result record of ``rtrlbench run`` with ``curve_steps``
    (step at the end of each curve block) added."""
    from rtrlbench.run import run

    record = run(progress=False, **spec)
    record["curve_steps"] = _curve_steps(record)
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
    population_size: at most this many prediction runs that share a learner shape, env and budget
        learn together in one population task (:func:`population_tasks`); 1: every run alone (better
        when idle workers outnumber the runs: a population runs on one worker).
    population_minimum: smaller groups run alone.
    """

    def __init__(self, scheduler: str | None = None, workers: int | None = None, processes: bool = True,
                 verbose: bool = False, population_size: int = DEFAULT_POPULATION_SIZE,
                 population_minimum: int = MIN_POPULATION) -> None:
        self.scheduler, self.workers, self.processes, self.verbose = scheduler, workers, processes, verbose
        self.population_size = positive_int("population_size", population_size)
        self.population_minimum = positive_int("population_minimum", population_minimum)
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
        for task in population_tasks(runnable, self.population_size, self.population_minimum):
            if len(task) == 1:
                future = self.client.submit(execute, task[0].to_dict(), key=f"rtrlbench-run-{task[0].run_id}",
                                            pure=False)
            else:
                future = self.client.submit(execute_population, [spec.to_dict() for spec in task],
                                            key=f"rtrlbench-population-{task[0].run_id}-{len(task)}", pure=False)
            by_key[future.key] = task
            futures.append(future)
        bar = tqdm(total=len(runnable), unit="run", desc=desc, disable=not show_progress(progress), dynamic_ncols=True)
        try:
            for future in as_completed(futures):
                task = by_key[future.key]
                if future.status == "finished":
                    results = future.result()
                    for spec, record in zip(task, results if len(task) > 1 else [results]):
                        if "error" in record:
                            self._fail(store, report, spec, record["error"], "", progress)
                        else:
                            self._store(store, report, spec, record, progress)
                else:
                    try:
                        error = future.exception()
                    except Exception as cancelled:  # e.g. CancelledError: the cluster dropped the task
                        error = cancelled
                    trace = "".join(tb.format_exception(error)) if error is not None else ""
                    for spec in task:
                        self._fail(store, report, spec, f"{type(error).__name__}: {error}", trace, progress)
                future.release()
                bar.update(len(task))
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
