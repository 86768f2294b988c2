"""Steps per second and peak memory of every reference learner on the chunked path, as a
Markdown table, plus cold- and warm-start times of the compiled code.

Each configuration runs in its own fresh process, so "peak RSS" is that of a single run.
The stream is generated first (so only the learner is timed): trace patterning with the
released code's 12 inputs (``RELEASED_CODE_KWARGS``: 6 CS + 5 distractors + US), and an
Atari-sized synthetic stream of 275 inputs (256 pixels, an 18-way one-hot action, the
last reward). The peak-RSS counter is reset once the stream is in memory (Linux
``clear_refs``), so the peak is that of the learner's run with the stream resident;
"data MB" is the stream's in-memory size and "beyond data" the difference, the figure
the <= 200 MB target is about (each learner and dtype runs once on a tiny stream first, so
the timed runs load compiled code from numba's cache: a run that compiles keeps ~55 MB more).
Staged learners get ``steps_per_stage = steps / n_stages`` so that the timing covers every
stage. The median of ``--repeats`` timings is reported; the machine may be shared, so the
✓/✗ column judges the CPU-time rate (steps divided by the process's CPU time, less disturbed
by other jobs than wall time).
Learners run with their defaults (for the column learners: RMSProp, stop-gradient
normalisation statistics) unless ``--set KEY=VALUE`` overrides a hyperparameter; a key
goes only to the learners whose constructor takes it (values are JSON, bare words are
strings); "state KB" is the learner's own checkpoint. For T-BPTT, "optimiser-only" is the rate of
the TD step alone (trace and optimiser over all parameters, no forward or backward pass): no
implementation of that update in that dtype can go faster on this machine, so a target above
it is out of reach (RMSProp's per-parameter square root bounds the wide Atari learners)::

    python -m rtrlbench.benchmarks.speed.speed_learners
    python -m rtrlbench.benchmarks.speed.speed_learners --steps 300000 --repeats 3 --only ccn
    python -m rtrlbench.benchmarks.speed.speed_learners --only columnar constructive ccn --set optimizer=sgd

Targets (one thread, twice the authors' C++ on this machine type): on trace patterning
CCN 20:4 >= 200,000 steps/s, columnar 5 >= 260,000, constructive 10:1 >= 500,000, T-BPTT
30:2 >= 130,000 and 3:10 >= 160,000; on 275 inputs CCN 15:5 and T-BPTT at the paper's
sizes >= 30,000; SnAp-1, UORO (LSTM and tanh RNN) and RFLO at their equal-FLOP sizes >= 100,000
(trace); the RTUs at their equal-FLOP sizes >= 300,000 (trace) and >= 30,000 (275 inputs);
<= 200 MB per run beyond the data set.
"""
from __future__ import annotations

import argparse
import functools
import inspect
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from tqdm import tqdm

#: (label, task, learner, hyperparameters, target steps/s or None)
CONFIGS = [
    ("columnar 5", "trace", "columnar", {"n_features": 5}, 260_000),
    ("constructive 10:1", "trace", "constructive", {"n_features": 10}, 500_000),
    ("ccn 20:4", "trace", "ccn", {"n_features": 20, "features_per_stage": 4}, 200_000),
    ("columnar 7", "atari", "columnar", {"n_features": 7}, None),
    ("ccn 15:5", "atari", "ccn", {"n_features": 15, "features_per_stage": 5}, 30_000),
    # Dense-LSTM RTRL at the budget's sizes (learner_flops.lstm_rtrl_hidden): the exact reference, no target.
    ("lstm_rtrl 2", "trace", "lstm_rtrl", {"n_hidden": 2}, None),
    ("lstm_rtrl 1", "atari", "lstm_rtrl", {"n_hidden": 1}, None),
    # SnAp-1 at the budget's sizes (learner_flops.snap1_hidden); issue 16's target: >= 100,000 on trace.
    ("snap1 5", "trace", "snap1", {"n_hidden": 5}, 100_000),
    ("snap1 3", "atari", "snap1", {"n_hidden": 3}, None),
    # UORO at the budget's sizes (learner_flops.uoro_hidden); issue 16's target: >= 100,000 on trace.
    ("uoro 7", "trace", "uoro", {"n_hidden": 7}, 100_000),
    ("uoro 6", "atari", "uoro", {"n_hidden": 6}, None),
    # The tanh-RNN family at the budget's sizes on 7 and 275 inputs (learner_flops.tanh_rnn_hidden):
    # exact RTRL is the reference (no target); issue 16's target for UORO and RFLO: >= 100,000 on trace.
    ("rnn_rtrl 5", "trace", "rnn_rtrl", {"n_hidden": 5}, None),
    ("rnn_rtrl 4", "atari", "rnn_rtrl", {"n_hidden": 4}, None),
    ("rnn_uoro 18", "trace", "rnn_uoro", {"n_hidden": 18}, 100_000),
    ("rnn_uoro 23", "atari", "rnn_uoro", {"n_hidden": 23}, None),
    ("rflo 27", "trace", "rflo", {"n_hidden": 27}, 100_000),
    ("rflo 39", "atari", "rflo", {"n_hidden": 39}, None),
    # SwiftTD, linear over the inputs (33 FLOPs per input): no budget size, no target.
    ("swifttd", "trace", "swifttd", {}, None),
    ("swifttd", "atari", "swifttd", {}, None),
]
#: T-BPTT rows (task, truncation k, hidden d, target): the paper's budget-matched pairs.
TBPTT_CONFIGS = [("trace", 30, 2, 130_000), ("trace", 3, 10, 160_000), ("trace", 2, 13, None),
                 ("trace", 5, 8, None), ("trace", 8, 6, None), ("trace", 10, 5, None), ("trace", 15, 4, None),
                 ("trace", 20, 3, None), ("atari", 15, 2, 30_000), ("atari", 8, 5, 30_000),
                 ("atari", 5, 8, 30_000), ("atari", 4, 10, 30_000), ("atari", 2, 25, 30_000)]
#: Online LRU rows (task, units N, width H, target): sized by learner_flops.lru_configs to the
#: paper's budgets at the benchmark's input counts (3,706 FLOPs on 12 inputs, 49,890 on 275).
LRU_CONFIGS = [("trace", 8, 6, 300_000), ("atari", 7, 8, 30_000)]
#: eLSTM rows (task, units d, target): learner_flops.elstm_units at the benchmark's input counts
#: (3,721 FLOPs on 12 inputs, 46,981 on 275).
ELSTM_CONFIGS = [("trace", 9, 300_000), ("atari", 7, 30_000)]
TASK_INPUTS = {"trace": 12, "atari": 275}
#: Atari-sized learners are ~10x slower per step: they are timed on steps / ATARI_STEP_DIVISOR.
ATARI_STEP_DIVISOR = 10
#: The memory target: MB of resident memory per run beyond the data set.
MEMORY_TARGET_MB = 200


def all_configs() -> list:
    from rtrlbench.agents.registry import LEARNERS

    configs = list(CONFIGS)
    configs += rtu_configs()
    if "tbptt" in LEARNERS:
        configs += [(f"tbptt {k}:{d}", task, "tbptt", {"truncation": k, "n_hidden": d}, target)
                    for task, k, d, target in TBPTT_CONFIGS]
    if "lru" in LEARNERS:
        configs += [(f"lru {n}x{h}", task, "lru", {"n_hidden": n, "n_model": h}, target)
                    for task, n, h, target in LRU_CONFIGS]
    if "elstm" in LEARNERS:
        configs += [(f"elstm {d}", task, "elstm", {"n_units": d}, target) for task, d, target in ELSTM_CONFIGS]
    return configs


def rtu_configs() -> list:
    """RTU rows at their equal-FLOP sizes: ~4,000 FLOPs on trace patterning's 7 inputs (timed on the
    benchmark's 12-input stream, as the CCN rows are) and ~50,000 on 275 inputs."""
    from rtrlbench.agents.learner_flops import PAPER_BUDGETS, rtu_units

    return [(f"{name} {rtu_units(inputs, PAPER_BUDGETS[task], name)}", task, name,
             {"n_units": rtu_units(inputs, PAPER_BUDGETS[task], name)}, target)
            for name in ("rtu_linear", "rtu_nonlinear")
            for task, inputs, target in (("trace", 7, 300_000), ("atari", 275, 30_000))]


def parse_overrides(items: list[str]) -> dict:
    """``["optimizer=sgd", "alpha=1e-3"]`` -> ``{"optimizer": "sgd", "alpha": 0.001}``."""
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--set expects KEY=VALUE, got {item!r}")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return overrides


def with_overrides(config, overrides: dict):
    """``config`` with the overrides its learner's constructor accepts (others are skipped)."""
    if not overrides:
        return config
    from rtrlbench.agents.registry import learner_class

    label, task, learner, hp, target = config
    known = inspect.signature(learner_class(learner)).parameters
    extra = {key: value for key, value in overrides.items() if key in known and key != "n_inputs"}
    if extra:
        label += " (" + ", ".join(f"{k}={v}" for k, v in extra.items()) + ")"
    return label, task, learner, {**hp, **extra}, target


def make_stream(task: str, steps: int, seed: int = 0):
    """(obs, cumulant, gamma) arrays for ``steps`` steps of the task."""
    import gymnasium as gym
    import numpy as np

    import rtrlbench  # noqa: F401  (registers the envs)
    from rtrlbench.envs.trace_patterning import RELEASED_CODE_KWARGS

    if task == "trace":
        chunk = gym.make("TracePatterning-v0", **RELEASED_CODE_KWARGS).unwrapped.stream(seed).next_chunk(steps)
        return chunk.obs, chunk.cumulant, chunk.gamma
    rng = np.random.default_rng(seed)  # Atari-sized: 256 pixels in [0, 1], a one-hot action, the last reward
    obs = np.zeros((steps, TASK_INPUTS["atari"]), dtype=np.float32)
    for start in range(0, steps, 10_000):  # in blocks: no stream-sized temporaries
        stop = min(steps, start + 10_000)
        obs[start:stop, :256] = rng.random((stop - start, 256), dtype=np.float32)
    obs[np.arange(steps), 256 + rng.integers(0, 18, steps)] = 1.0
    cumulant = (rng.random(steps) < 0.01).astype(np.float64)
    obs[1:, 274] = cumulant[:-1]
    gamma = np.full(steps, 0.98)
    gamma[0] = 0.0
    return obs, cumulant, gamma


def _reset_peak_rss() -> bool:
    """Reset this process's peak-RSS counter to its current RSS (Linux); False if unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_rss_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def optimizer_only_rate(agent, seconds: float = 0.5) -> float:
    """Steps/s of T-BPTT's TD step alone (trace and optimiser over all its parameters, through
    the learner's own kernel) on copies of its arrays; CPU time."""
    import numpy as np

    theta, trace, v = agent.theta.copy(), agent.trace.copy(), agent.v.copy()
    # A non-zero gradient keeps the trace at a steady size: a trace decaying into subnormal
    # numbers would time the FPU's slow path instead.
    grad = np.random.default_rng(0).normal(0.0, 1e-2, theta.shape).astype(theta.dtype)
    args = (theta, trace, v, grad, agent._optimizer, theta.dtype.type(1e-3), theta.dtype.type(0.9), agent._consts)
    td_steps = _td_steps_kernel()
    td_steps(*args, 1)  # compile
    reps, elapsed = 1, 0.0
    while elapsed < seconds:
        reps *= 4
        start = time.process_time()
        td_steps(*args, reps)
        elapsed = time.process_time() - start
    return reps / elapsed


@functools.lru_cache(maxsize=None)
def _td_steps_kernel():
    """A compiled loop of ``reps`` T-BPTT TD steps over all parameters (built on first use:
    the parent process never imports numba)."""
    import numba as nb

    from rtrlbench.agents import tbptt_kernels as kernels
    from rtrlbench.agents.td_lambda import OBGD, SGD, obgd_delta, trace_l1

    @nb.njit(fastmath=kernels.FASTMATH, error_model="numpy")  # the flags of the learner's kernels
    def td_steps(theta, trace, v, grad, optimizer, delta, decay, consts, reps):
        for _ in range(reps):
            rule, step_delta = optimizer, delta
            if optimizer == OBGD:  # as run_steps: the bound over the trace, then SGD's step
                rule = SGD
                step_delta = obgd_delta(delta, consts[kernels.ALPHA] * trace_l1(trace, trace.shape[0],
                                                                                consts[kernels.ZERO]),
                                        consts[kernels.KAPPA], consts[kernels.ONE])
            kernels.td_span(theta, trace, v, grad, True, rule, step_delta, decay, consts[kernels.ALPHA],
                            consts[kernels.BETA2], consts[kernels.ONE_MINUS_BETA2], consts[kernels.EPS])

    return td_steps


def worker(label: str, task: str, learner: str, hp: dict, steps: int, repeats: int) -> dict:
    """Time one configuration in this (fresh) process; return the figures."""
    start = time.perf_counter()
    from rtrlbench.agents.registry import learner_class, make_learner

    learner_class(learner)
    import_seconds = time.perf_counter() - start
    obs, cumulant, gamma = make_stream(task, steps)
    data_mb = (obs.nbytes + cumulant.nbytes + gamma.nbytes) / 2**20
    hp = dict(hp)
    if "features_per_stage" in hp or learner == "constructive":
        per_stage = hp.get("features_per_stage", 1)
        hp["steps_per_stage"] = max(1, steps // (hp["n_features"] // per_stage))
    first = time.perf_counter()
    make_learner(learner, obs.shape[1], seed=0, **hp).run_chunk(obs[:10], cumulant[:10], gamma[:10])
    start_seconds = import_seconds + time.perf_counter() - first
    reset = _reset_peak_rss()
    wall, cpu = [], []
    for _ in range(repeats):
        agent = make_learner(learner, obs.shape[1], seed=0, **hp)
        t0, c0 = time.perf_counter(), time.process_time()
        agent.run_chunk(obs, cumulant, gamma)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        del agent
    peak_mb = _peak_rss_mb()
    agent = make_learner(learner, obs.shape[1], seed=0, **hp)
    ceiling = optimizer_only_rate(agent) if learner == "tbptt" else None
    return {"label": label, "task": task, "steps_per_second": steps / statistics.median(wall),
            "cpu_steps_per_second": steps / statistics.median(cpu), "peak_mb": peak_mb, "data_mb": data_mb,
            "peak_reset": reset, "state_kb": _nbytes(agent.get_state()) / 1024, "start_seconds": start_seconds,
            "optimizer_only": ceiling}


def _nbytes(value) -> int:
    """Bytes of every array in a (nested) checkpoint."""
    if isinstance(value, dict):
        return sum(_nbytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_nbytes(v) for v in value)
    return getattr(value, "nbytes", 0)


def run_worker(config, steps: int, repeats: int, env=None) -> dict:
    """Run one configuration in a fresh Python process and return its figures."""
    label, task, learner, hp, _ = config
    payload = json.dumps([label, task, learner, hp, steps, repeats])
    out = subprocess.run([sys.executable, "-m", "rtrlbench.benchmarks.speed.speed_learners", "--worker", payload],
                         capture_output=True, text=True, env=env)
    if out.returncode:
        raise SystemExit(f"configuration {label!r} failed:\n{out.stderr.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def start_times(config) -> tuple[float, float]:
    """Seconds to import, compile (or load from cache) and take a first step: cold, then warm."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        cold = run_worker(config, 1000, 1, env)["start_seconds"]
        warm = run_worker(config, 1000, 1, env)["start_seconds"]
    return cold, warm


def table_row(config, result: dict) -> str:
    """One Markdown row: rates, target and verdict (on the CPU-time rate), memory."""
    label, task, _, _, target = config
    verdict = ("✓" if result["cpu_steps_per_second"] >= target else "✗") if target else ""
    beyond = result["peak_mb"] - result["data_mb"]
    memory = "✓" if beyond <= MEMORY_TARGET_MB else "✗"
    ceiling = result.get("optimizer_only")
    return (f"| {label} | {task} ({TASK_INPUTS[task]}) | {result['steps_per_second']:,.0f} | "
            f"{result['cpu_steps_per_second']:,.0f} | {f'{target:,}' if target else ''} | {verdict} | "
            f"{f'{ceiling:,.0f}' if ceiling else ''} | "
            f"{result['peak_mb']:.0f} | {result['data_mb']:.1f} | {beyond:.0f} {memory} | {result['state_kb']:.0f} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=500_000, help="stream steps per timing (Atari: steps / 10)")
    parser.add_argument("--repeats", type=int, default=3, help="timings per configuration (median is reported)")
    parser.add_argument("--only", nargs="*", default=None, help="learner names to include")
    parser.add_argument("--no-start-times", action="store_true", help="skip the cold/warm start measurement")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="hyperparameter overrides for every learner that takes KEY, e.g. optimizer=sgd")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(*json.loads(args.worker))))
        return 0
    if args.steps < 1 or args.repeats < 1:
        raise SystemExit("--steps and --repeats must be positive integers")
    overrides = parse_overrides(args.set)
    configs = [with_overrides(c, overrides) for c in all_configs() if args.only is None or c[2] in args.only]
    unused = [key for key in overrides if not any(key in config[3] for config in configs)]
    if unused:
        print(f"note: no selected learner takes {', '.join(unused)}; ignored", file=sys.stderr)
    if not configs:
        raise SystemExit(f"--only {' '.join(args.only)} matches no configuration; learners: "
                         f"{', '.join(sorted({c[2] for c in all_configs()}))}")
    rows = [f"| learner | task (inputs) | steps/s (wall) | steps/s (CPU time) | target | ✓/✗ (CPU) | "
            f"optimiser-only steps/s | peak RSS MB | data MB | beyond data MB (≤ {MEMORY_TARGET_MB}) | state KB |",
            "|---|---|---:|---:|---:|:-:|---:|---:|---:|---:|---:|"]
    # One run per compiled specialisation, so that no timed run carries a compilation's memory.
    warmers = {(config[2], config[3].get("dtype")): config for config in configs}
    for config in tqdm(warmers.values(), desc="warming the numba cache", unit="learner"):
        run_worker(config, 100, 1)
    reset = True
    for config in tqdm(configs, desc="learners", unit="config"):
        steps = args.steps if config[1] == "trace" else max(1000, args.steps // ATARI_STEP_DIVISOR)
        result = run_worker(config, steps, args.repeats)
        reset = reset and result["peak_reset"]
        rows.append(table_row(config, result))
    print("\n".join(rows))
    if not reset:
        print("\n(peak RSS could not be reset after loading the data: it includes the stream's generation)")
    if not args.no_start_times:
        cold, warm = start_times(configs[-1] if args.only else CONFIGS[2])
        print(f"\nstart-up (import, compile or load the numba cache, first step): cold {cold:.1f} s, warm {warm:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
