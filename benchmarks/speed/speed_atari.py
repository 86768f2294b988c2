"""Atari prediction data: generation speed, file size, streaming speed and memory.

    python -m rtrlbench.benchmarks.speed.speed_atari --policy-dir ../shared/atari_policies [--games Pong MsPacman]
        [--gen-steps 50000] [--repeats 3] [--seconds 2] [--all-games --jobs 2]

Figures printed (targets on the 2-core machine):
* generation per process (>= 5,000 steps/s): the emulator alone (``act``/``reset_game`` on the
  same recorded actions, nothing else), the whole generation (replay + 16x16 frames + HDF5
  file), and their ratio, which is the fair figure on a shared machine: both are timed
  interleaved (emulator, generation, emulator, ...), per CPU second, median of ``--repeats``;
  the HDF5 write alone;
* file size of a whole game (<= 30 MB), extrapolated from ``--gen-steps`` unless the full
  file exists in ``--data-dir``;
* streaming from the HDF5 data set: chunked path at several chunk sizes (>= 5M steps/s)
  and the per-step Gymnasium API (>= 50,000 steps/s), median of three repeats;
* peak memory (RSS) of this process (<= 1 GB);
* with ``--all-games``: wall time to generate every game with a local policy in ``--jobs``
  processes (the full data; takes tens of minutes);
* with ``--table``: only the generation figures (emulator alone, generation, ratio) for every
  game with a local policy, ``--jobs`` games at a time (one per core), as a markdown table
  sorted by generation speed.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

import rtrlbench  # noqa: F401  (registers the envs)
from rtrlbench.benchmarks.speed.speed_envs import _rate
from rtrlbench.data_tools import generate, hdf5_dataset, policies, replay
from rtrlbench.envs.registration import atari_env_id

FULL_STEPS = 250_000


def emulator_only(game: str, data: bytes) -> tuple[float, float]:
    """(CPU seconds, wall seconds) for ALE alone to replay ``data``: act or reset per byte, nothing else.

    The first byte is ``make_ale``'s reset, as in the replay: resetting again would put some games
    out of step and time a different (often frozen, game-over) game.
    """
    ale = replay.make_ale(game)
    minimal = list(ale.getMinimalActionSet())
    moves = [None if a == replay.NO_ACTION else minimal[a]
             for a in replay.decode_actions(data, len(minimal), game).tolist()]
    act, reset = ale.act, ale.reset_game
    cpu, wall = time.process_time(), time.perf_counter()
    for move in moves[1:]:
        if move is None:
            reset()
        else:
            act(move)
    return time.process_time() - cpu, time.perf_counter() - wall


def generation(game: str, data: bytes, data_dir: Path) -> dict:
    """Replay ``data`` and write its HDF5 file: CPU and wall seconds of both, write seconds, file path."""
    cpu, wall = time.process_time(), time.perf_counter()
    rollout = replay.replay(game, data)
    replayed = time.perf_counter()
    path = hdf5_dataset.write_dataset(hdf5_dataset.dataset_path(game, data_dir), rollout, {"steps": len(rollout)})
    return {"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall,
            "write": time.perf_counter() - replayed, "path": path}


def generation_vs_emulator(game: str, policy_dir, data_dir: Path, steps: int, repeats: int) -> dict:
    """Steps/s of the emulator alone and of generation on ``steps`` frames, timed interleaved; medians."""
    data, _ = policies.load_policy(game, policy_dir=policy_dir)
    data = data[:steps]
    n = len(data)
    bare, gen = [], []
    for _ in range(repeats):
        bare.append(emulator_only(game, data))
        gen.append(generation(game, data, data_dir))
    emulator_cpu = statistics.median(n / cpu for cpu, _ in bare)
    generation_cpu = statistics.median(n / g["cpu"] for g in gen)
    full = hdf5_dataset.dataset_path(game, policies.data_dir(None))
    size = full.stat().st_size if full.is_file() else gen[-1]["path"].stat().st_size * FULL_STEPS / n
    return {"emulator": emulator_cpu, "generation": generation_cpu, "ratio": generation_cpu / emulator_cpu,
            "emulator wall": statistics.median(n / wall for _, wall in bare),
            "generation wall": statistics.median(n / g["wall"] for g in gen),
            "write": statistics.median(n / g["write"] for g in gen), "mb": size / 1e6}


def streaming(game: str, data_dir: Path, seconds: float) -> dict:
    """Chunked-path steps/s per chunk size and per-step API steps/s on ``game``'s data set."""
    env = gym.make(atari_env_id(game), data_dir=str(data_dir), unfinished_episode="keep").unwrapped
    rates = {}
    for chunk in (1024, 4096, 65_536):
        stream = env.stream(0)
        stream.next_chunk(16)
        rates[f"chunk {chunk}"] = _rate(lambda: len(stream.next_chunk(chunk)), seconds)
    env.reset(seed=0)

    def work(n=10_000):
        for _ in range(n):
            env.step(0)
        return n

    rates["per-step"] = _rate(work, seconds)
    return rates


def all_games(policy_dir, jobs: int) -> None:
    games = [g for g in policies.games() if (Path(policy_dir) / policies.policy_filename(g)).is_file()]
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        results, errors = generate.generate_many(games, jobs=jobs, data_dir=tmp, policy_dir=policy_dir)
        elapsed = time.perf_counter() - start
        sizes = [r.path.stat().st_size / 1e6 for r in results.values()]
        steps = sum(r.steps for r in results.values())
    print(f"\nall {len(results)} games ({steps:,} steps) in {jobs} processes: {elapsed / 60:.1f} min "
          f"({steps / elapsed:,.0f} steps/s in all); file size {min(sizes):.1f}-{max(sizes):.1f} MB, "
          f"mean {np.mean(sizes):.1f} MB; {len(errors)} failed")
    for game, why in errors.items():
        print(f"  {game}: {why}")


def table(policy_dir, steps: int, repeats: int, jobs: int) -> None:
    """Markdown table of emulator-alone and generation steps per CPU second for every local game."""
    import multiprocessing

    from tqdm import tqdm

    games = [g for g in policies.games() if (Path(policy_dir) / policies.policy_filename(g)).is_file()]
    tasks = [(game, policy_dir, steps, repeats) for game in games]
    with multiprocessing.get_context("spawn").Pool(jobs) as pool:
        rows = list(tqdm(pool.imap_unordered(_table_row, tasks), total=len(tasks), desc="games", unit="game"))
    rows.sort(key=lambda row: row[2])
    print(f"\n{len(rows)} games, first {steps:,} frames each, {jobs} at a time; steps per CPU second, "
          f"median of {repeats} interleaved repeats, slowest first")
    print("| game | emulator alone | generation | ratio | target (>= 5,000) |\n|---|---:|---:|---:|---|")
    for game, emulator, generated in rows:
        print(f"| {game} | {emulator:,.0f} | {generated:,.0f} | {generated / emulator:.2f} | "
              f"{'ok' if generated >= 5000 else 'below'} |")


def _table_row(task) -> tuple[str, float, float]:
    game, policy_dir, steps, repeats = task
    with tempfile.TemporaryDirectory() as tmp:
        gen = generation_vs_emulator(game, policy_dir, Path(tmp), steps, repeats)
    return game, gen["emulator"], gen["generation"]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--policy-dir", required=True, help="folder with the recorded action files")
    parser.add_argument("--games", nargs="+", default=["Pong", "MsPacman"])
    parser.add_argument("--gen-steps", type=int, default=50_000, help="frames replayed per game for the timing")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved emulator/generation timings per game")
    parser.add_argument("--seconds", type=float, default=2.0, help="timing per streaming repeat")
    parser.add_argument("--all-games", action="store_true", help="also generate every game's full data set")
    parser.add_argument("--jobs", type=int, default=2, help="processes for --all-games and --table")
    parser.add_argument("--table", action="store_true",
                        help="only the generation figures of every local game, as a markdown table")
    args = parser.parse_args(argv)
    if args.table:
        table(args.policy_dir, args.gen_steps, args.repeats, args.jobs)
        return
    print(f"# load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; data dir {policies.data_dir(None)}")
    print("# generation: steps per CPU second (wall in brackets), median of the interleaved repeats")
    print(f"{'game':<12} {'emulator alone':>22} {'generation':>22} {'ratio':>6} {'HDF5 write':>12} {'full file':>10} "
          f"{'chunk 1024':>12} {'chunk 4096':>12} {'chunk 65536':>12} {'per-step':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for game in args.games:
            gen = generation_vs_emulator(game, args.policy_dir, Path(tmp), args.gen_steps, args.repeats)
            full = hdf5_dataset.dataset_path(game, policies.data_dir(None)).is_file()
            rates = streaming(game, policies.data_dir(None) if full else Path(tmp), args.seconds)
            print(f"{game:<12} {gen['emulator']:>9,.0f}/s ({gen['emulator wall']:>7,.0f}) "
                  f"{gen['generation']:>9,.0f}/s ({gen['generation wall']:>7,.0f}) {gen['ratio']:>6.3f} "
                  f"{gen['write']:>10,.0f}/s {gen['mb']:>7.1f} MB"
                  + "".join(f" {rates[k]:>10,.0f}/s" for k in ("chunk 1024", "chunk 4096", "chunk 65536", "per-step")))
    print("(file size extrapolated to 250,000 steps and streaming from the --gen-steps data, unless the game's "
          "full data set is in $RTRLBENCH_DATA_DIR)")
    print(f"peak memory (RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if args.all_games:
        all_games(args.policy_dir, args.jobs)


if __name__ == "__main__":
    main()
