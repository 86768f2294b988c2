"""Speed and memory of the ``tbptt`` learner, next to the same learner written plainly in PyTorch.

    python -m rtrlbench.benchmarks.speed.tbptt_vs_pytorch                 # the table (a few minutes)
    python -m rtrlbench.benchmarks.speed.tbptt_vs_pytorch --no-torch --steps 200000
    python -m rtrlbench.benchmarks.speed.tbptt_vs_pytorch --configs trace:30:2,atari:2:25

Each figure comes from a fresh single-threaded process (so its peak memory is its own):
ours runs the chunked path (``run_chunk``, chunks of 16,384 or 4,096 steps) on TracePatterning-v0
with the released code's 12 inputs, or on a synthetic Atari-sized stream (275 inputs:
256 pixels in [0, 1), an 18-way one-hot action, a reward in {-1, 0, 1}; gamma 0.98).
Only learner time is counted. The PyTorch learner (``nn.LSTMCell``, float32, one step at a
time: re-run the k-step window from the detached state k steps back, ``autograd.grad``,
then the same TD(lambda) and RMSProp) runs ``--torch-steps`` steps. Figures are steps per
second of wall time and of process CPU time (the machine may be shared: CPU time is
less disturbed). Targets (k:d): trace 30:2 >= 130,000 and 3:10 >= 160,000 steps/s (the
authors' C++: ~67k and ~82k on this machine type), Atari sizes >= 30,000, memory <= 200 MB.
Also printed: start-up time of a fresh process with a cold and a warm numba cache.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

CONFIGS = "trace:30:2,trace:3:10,trace:13:2,atari:15:2,atari:8:5,atari:5:8,atari:4:10,atari:2:25"
TARGETS = {("trace", 30, 2): 130_000, ("trace", 3, 10): 160_000, "atari": 30_000}
AUTHORS_CPP = {("trace", 30, 2): 67_000, ("trace", 3, 10): 82_000, ("trace", 13, 2): 120_000}
ATARI_INPUTS = 275
CHUNK = 16_384
ATARI_CHUNK = 4096  # 4.5 MB of observations: the benchmark measures the learner's memory, not the stream's
SINGLE_THREAD = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                 "OPENBLAS_NUM_THREADS": "1"}


# ----------------------------------------------------------------------------- streams
def chunks(task: str, steps: int, seed: int = 0):
    """(obs float32[T, n], cumulant float64[T], gamma float64[T]) chunks, ``steps`` in all."""
    if task == "trace":
        from rtrlbench.envs.trace_patterning import RELEASED_CODE_KWARGS
        from rtrlbench.run import make_env

        for chunk in make_env("TracePatterning-v0", RELEASED_CODE_KWARGS).stream(seed).chunks(steps, CHUNK):
            yield chunk.obs, chunk.cumulant, chunk.gamma
        return
    rng = np.random.default_rng(seed)
    for start in range(0, steps, ATARI_CHUNK):
        size = min(ATARI_CHUNK, steps - start)
        obs = np.zeros((size, ATARI_INPUTS), dtype=np.float32)
        obs[:, :256] = rng.random((size, 256), dtype=np.float32)
        obs[np.arange(size), 256 + rng.integers(0, 18, size)] = 1.0
        reward = rng.choice([-1.0, 0.0, 1.0], size, p=[0.01, 0.98, 0.01])
        obs[:, 274] = reward
        gamma = np.full(size, 0.98)
        if start == 0:
            gamma[0] = 0.0
        yield obs, reward, gamma


def n_inputs(task: str) -> int:
    return 12 if task == "trace" else ATARI_INPUTS


# ----------------------------------------------------------------------------- workers
def measure_ours(task: str, k: int, d: int, steps: int, optimizer: str) -> dict:
    """Run in a fresh process: steps/s (wall and CPU) and peak memory of ``tbptt``."""
    from rtrlbench.agents.tbptt import TBPTTLearner

    learner = TBPTTLearner(n_inputs(task), n_hidden=d, truncation=k, alpha=1e-4, optimizer=optimizer)
    obs, cumulant, gamma = next(chunks(task, 10))
    learner.run_chunk(obs, cumulant, gamma)  # compiles, or loads the numba cache
    wall = cpu = 0.0
    for obs, cumulant, gamma in chunks(task, steps, seed=1):
        w0, c0 = time.perf_counter(), time.process_time()
        learner.run_chunk(obs, cumulant, gamma)
        wall += time.perf_counter() - w0
        cpu += time.process_time() - c0
    return {"wall": steps / wall, "cpu": steps / cpu, "peak_mb": _peak_mb()}


class TorchTBPTT:
    """The T-BPTT LSTM learner written plainly in PyTorch, one step at a time."""

    def __init__(self, n: int, k: int, d: int, alpha=1e-4, lam=0.99, beta2=0.9999, eps=1e-8):
        import torch

        self.torch, self.k = torch, k
        self.cell = torch.nn.LSTMCell(n, d)
        self.w = torch.nn.Parameter(torch.zeros(d))
        self.params = [*self.cell.parameters(), self.w]
        self.trace = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.ones_like(p) for p in self.params]
        self.alpha, self.lam, self.beta2, self.eps = alpha, lam, beta2, eps
        self.window: list = []
        self.base = (torch.zeros(1, d), torch.zeros(1, d))
        self.y_prev = None

    def step(self, x, cumulant: float, gamma: float) -> float:
        torch = self.torch
        self.window.append(torch.from_numpy(x).view(1, -1))
        if len(self.window) > self.k:
            self.window.pop(0)
            self.base = tuple(s.detach() for s in self.after_first)
        h, c = self.base
        for i, x_s in enumerate(self.window):
            h, c = self.cell(x_s, (h, c))
            if i == 0:
                self.after_first = (h, c)
        y = (h[0] * self.w).sum()
        grads = torch.autograd.grad(y, self.params)
        y = float(y)
        with torch.no_grad():
            if self.y_prev is not None:
                delta = cumulant + gamma * y - self.y_prev
                for p, e, v in zip(self.params, self.trace, self.v):
                    g = delta * e
                    v.mul_(self.beta2).addcmul_(g, g, value=1 - self.beta2)
                    p.add_(self.alpha * g / (v.sqrt() + self.eps))
            decay = self.lam * gamma if self.y_prev is not None else 0.0
            for e, g in zip(self.trace, grads):
                e.mul_(decay).add_(g)
        self.y_prev = y
        return y


def measure_torch(task: str, k: int, d: int, steps: int) -> dict:
    """Run in a fresh process: steps/s (wall and CPU) and peak memory of :class:`TorchTBPTT`."""
    import torch

    torch.set_num_threads(1)
    learner = TorchTBPTT(n_inputs(task), k, d)
    obs, cumulant, gamma = next(chunks(task, steps + 10, seed=1))
    for t in range(10):
        learner.step(obs[t], cumulant[t], gamma[t])
    w0, c0 = time.perf_counter(), time.process_time()
    for t in range(10, steps + 10):
        learner.step(obs[t], float(cumulant[t]), float(gamma[t]))
    return {"wall": steps / (time.perf_counter() - w0), "cpu": steps / (time.process_time() - c0),
            "peak_mb": _peak_mb()}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ----------------------------------------------------------------------------- driver
def spawn(worker: str, task: str, k: int, d: int, steps: int, optimizer: str = "rmsprop",
          cache_dir: str | None = None) -> dict:
    """Run one worker in a fresh single-threaded process; its figures, and the process's wall time."""
    env = {**os.environ, **SINGLE_THREAD}
    if cache_dir:
        env["NUMBA_CACHE_DIR"] = cache_dir
    command = [sys.executable, "-m", "rtrlbench.benchmarks.speed.tbptt_vs_pytorch", "--worker", worker, "--task", task,
               "--k", str(k), "--d", str(d), "--steps", str(steps), "--optimizer", optimizer]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{worker} worker failed for {task} {k}:{d}:\n{done.stderr[-2000:]}")
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "process_seconds": time.perf_counter() - start}


def _target(task, k, d) -> str:
    target = TARGETS.get((task, k, d), TARGETS["atari"] if task == "atari" else None)
    return f">= {target:,}" if target else ""


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--configs", default=CONFIGS, help="comma-separated task:k:d (task: trace or atari)")
    parser.add_argument("--steps", type=int, default=300_000, help="steps per figure of ours (trace)")
    parser.add_argument("--atari-steps", type=int, default=60_000, help="steps per figure of ours (atari)")
    parser.add_argument("--torch-steps", type=int, default=400, help="steps per PyTorch figure")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch column")
    parser.add_argument("--optimizer", default="rmsprop", choices=["rmsprop", "sgd"])
    parser.add_argument("--worker", choices=["ours", "torch"], help=argparse.SUPPRESS)
    parser.add_argument("--task", help=argparse.SUPPRESS)
    parser.add_argument("--k", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--d", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        if args.worker == "ours":
            result = measure_ours(args.task, args.k, args.d, args.steps, args.optimizer)
        else:
            result = measure_torch(args.task, args.k, args.d, args.steps)
        print(json.dumps(result))
        return [result]

    from tqdm import tqdm

    configs = [(task, int(k), int(d)) for task, k, d in (c.split(":") for c in args.configs.split(","))]
    rows = []
    for task, k, d in tqdm(configs, desc="tbptt speed", unit="config"):
        steps = args.steps if task == "trace" else args.atari_steps
        row = {"task": task, "k": k, "d": d, "ours": spawn("ours", task, k, d, steps, args.optimizer)}
        if not args.no_torch:
            row["torch"] = spawn("torch", task, k, d, args.torch_steps)
        rows.append(row)
    print(f"\ntbptt ({args.optimizer}), one thread, chunked path; steps/s as wall-clock (process CPU)\n")
    print("| task | k:d | ours steps/s | target | authors' C++ | PyTorch steps/s | ours / PyTorch "
          "| peak MB ours (PyTorch) |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        ours, torch_ = row["ours"], row.get("torch")
        key = (row["task"], row["k"], row["d"])
        cpp = f"~{AUTHORS_CPP[key]:,}" if key in AUTHORS_CPP else ""
        torch_rate = f"{torch_['wall']:,.0f} ({torch_['cpu']:,.0f})" if torch_ else "-"
        ratio = f"{ours['cpu'] / torch_['cpu']:,.0f}x" if torch_ else "-"
        memory = f"{ours['peak_mb']:.0f}" + (f" ({torch_['peak_mb']:.0f})" if torch_ else "")
        print(f"| {row['task']} | {row['k']}:{row['d']} | {ours['wall']:,.0f} ({ours['cpu']:,.0f}) "
              f"| {_target(*key)} | {cpp} | {torch_rate} | {ratio} | {memory} |")

    with tempfile.TemporaryDirectory() as cache:
        cold = spawn("ours", "trace", 30, 2, 1000, args.optimizer, cache_dir=cache)
        warm = spawn("ours", "trace", 30, 2, 1000, args.optimizer, cache_dir=cache)
    print(f"\nfresh process running 1,000 steps of trace 30:2 (Python start-up, imports, compile or cache load): "
          f"cold numba cache {cold['process_seconds']:.1f} s, warm {warm['process_seconds']:.1f} s")
    return rows


if __name__ == "__main__":
    main()
