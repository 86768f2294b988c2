"""Steps per second of every registered env: per-step Gymnasium API, chunked path, and exact returns.

    python -m rtrlbench.benchmarks.speed.speed_envs [--seconds 2] [--envs TracePatterning-v0 ...]

Targets (2-core machine): chunked TracePatterning >= 20M steps/s, per-step API >= 100k steps/s,
exact returns >= 50M steps/s. Prints the median of three timed repeats per figure.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import gymnasium as gym
import numpy as np

import rtrlbench  # noqa: F401
from rtrlbench.envs.registration import listed_envs
from rtrlbench.evaluation.return_error import discounted_returns

CHUNK = 65_536


def _rate(work, seconds: float) -> float:
    """Median steps/s over three repeats of ``work()`` (which returns steps done) for ``seconds`` each."""
    rates = []
    for _ in range(3):
        steps, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            steps += work()
        rates.append(steps / (time.perf_counter() - start))
    return statistics.median(rates)


def per_step_rate(env_id: str, seconds: float) -> float:
    env = gym.make(env_id)
    env.reset(seed=0)

    def work(n=10_000):
        for _ in range(n):
            env.step(0)
        return n

    work(2000)
    return _rate(work, seconds)


def chunked_rate(env_id: str, seconds: float) -> float:
    stream = gym.make(env_id).unwrapped.stream(0)
    stream.next_chunk(16)
    return _rate(lambda: len(stream.next_chunk(CHUNK)), seconds)


def returns_rate(seconds: float) -> float:
    rng = np.random.default_rng(0)
    cumulant, gamma = rng.random(1 << 22), np.full(1 << 22, 0.9)
    discounted_returns(cumulant[:10], gamma[:10])
    return _rate(lambda: len(discounted_returns(cumulant, gamma)), seconds)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="timing per repeat")
    parser.add_argument("--envs", nargs="*", default=None, help="env ids (default: every env `rtrlbench envs` lists)")
    args = parser.parse_args(argv)
    print(f"# {platform.processor() or platform.machine()}, python {platform.python_version()}, one thread")
    print(f"{'env':<34} {'per-step API':>14} {'chunked':>14}")
    for env_id in args.envs or list(listed_envs()):
        try:
            step, chunk = per_step_rate(env_id, args.seconds), chunked_rate(env_id, args.seconds)
        except Exception as error:  # e.g. an Atari dataset not generated yet
            print(f"{env_id:<34} skipped: {error}")
            continue
        print(f"{env_id:<34} {step:>10,.0f} /s {chunk:>10,.0f} /s")
    print(f"{'exact returns (backward recursion)':<34} {'':>14} {returns_rate(args.seconds):>10,.0f} /s")


if __name__ == "__main__":
    main()
