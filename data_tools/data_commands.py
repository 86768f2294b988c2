"""``rtrlbench data ...``: fetch recorded policies, record a pfrl agent, build Atari data sets."""
from __future__ import annotations

import argparse
import sys

import numpy as np

from rtrlbench.terminal import DefaultsHelpFormatter, show_progress


def register(subparsers) -> None:
    data = subparsers.add_parser("data", help="download policies and build the Atari prediction data sets")
    commands = data.add_subparsers(dest="data_command", required=True, metavar="DATA_COMMAND")
    data_dir = argparse.ArgumentParser(add_help=False)
    data_dir.add_argument("--data-dir", default=None,
                          help="data folder (default: $RTRLBENCH_DATA_DIR, else ~/.cache/rtrlbench)")

    games = commands.add_parser("games", help="list the games with a recorded policy")
    games.set_defaults(handler=list_games)

    fetch = commands.add_parser("fetch-policies", parents=[data_dir], help="download and verify recorded action files")
    fetch.add_argument("games", nargs="*", metavar="GAME", help="games to fetch (default: all)")
    fetch.add_argument("--base-url", default=None,
                       help="folder URL to fetch from (default: $RTRLBENCH_POLICY_URL, else the pinned public source)")
    fetch.add_argument("--force", action="store_true", help="download again even if a valid copy is cached")
    fetch.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    fetch.set_defaults(handler=fetch_command)

    atari = commands.add_parser("atari", parents=[data_dir], help="replay policies in ALE and write the HDF5 data sets")
    which = atari.add_mutually_exclusive_group(required=True)
    which.add_argument("--game", help="one game, e.g. Pong")
    which.add_argument("--games", nargs="+", metavar="GAME", help="several games, or 'all'")
    atari.add_argument("--steps", type=int, default=None, help="use only the first N frames of the action file")
    atari.add_argument("--policy-dir", default=None,
                       help="folder holding <Game>NoFrameskip-v4.txt action files (checked against the shipped checksums)")
    atari.add_argument("--policy-file", default=None,
                       help="an action file of any source, e.g. from `rtrlbench data rainbow` (one game only)")
    atari.add_argument("--force", action="store_true", help="regenerate even if a complete file exists")
    atari.add_argument("--jobs", type=int, default=None, help="parallel processes for several games (default: all cores)")
    atari.add_argument("--no-progress", action="store_true", help="hide progress bars")
    atari.set_defaults(handler=atari_command)

    rainbow = commands.add_parser("rainbow", help="record a pfrl Rainbow agent's greedy play as an action file",
                                  formatter_class=DefaultsHelpFormatter)
    rainbow.add_argument("--game", required=True, help="the game, e.g. Pong")
    source = rainbow.add_mutually_exclusive_group(required=True)
    source.add_argument("--agent-dir", help="folder written by pfrl's agent.save (model.pt, ...)")
    source.add_argument("--pretrained", choices=["best", "final"],
                        help="download pfrl's model-zoo Rainbow agent (needs internet access)")
    rainbow.add_argument("--steps", type=int, default=250_000, help="frames to record")
    rainbow.add_argument("--seed", type=int, default=0, help="seed of the no-op starts and the noisy-net noise")
    rainbow.add_argument("--out", required=True, help="action file to write")
    rainbow.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    rainbow.set_defaults(handler=rainbow_command)


def list_games(args) -> int:
    from rtrlbench.data_tools.policies import games

    print("\n".join(games()))
    return 0


def fetch_command(args) -> int:
    from tqdm import tqdm

    from rtrlbench.data_tools import policies

    games = [policies.check_game(g) for g in args.games] or policies.games()
    failures = {}
    for game in tqdm(games, desc="policies", unit="game",
                     disable=len(games) < 2 or not show_progress(not args.no_progress)):
        try:
            policies.fetch_policy(game, base_url=args.base_url, cache=args.data_dir, force=args.force)
        except (ValueError, RuntimeError, OSError) as error:
            failures[game] = str(error)
    for why in failures.values():
        print(f"FAILED: {why}", file=sys.stderr)
    fetched = len(games) - len(failures)
    if fetched:
        print(f"{fetched} verified action file(s) in {policies.cached_policy_path(games[0], args.data_dir).parent}")
    return 1 if failures else 0


def atari_command(args) -> int:
    from rtrlbench.data_tools import generate, policies

    games = [args.game] if args.game else (policies.games() if args.games == ["all"] else args.games)
    games = [policies.check_game(g) for g in games]
    if args.policy_file and len(games) > 1:
        raise ValueError("--policy-file holds one game's actions; use it with --game")
    kwargs = dict(data_dir=args.data_dir, steps=args.steps, policy_dir=args.policy_dir,
                  policy_file=args.policy_file, force=args.force)
    if len(games) == 1:
        results, errors = {games[0]: generate.generate(games[0], progress=not args.no_progress, **kwargs)}, {}
    else:
        results, errors = generate.generate_many(games, jobs=args.jobs, progress=not args.no_progress, **kwargs)
    for game in games:
        if game in results:
            print(_summary(results[game]))
    for game, why in errors.items():
        print(f"{game}: FAILED: {why}", file=sys.stderr)
    return 1 if errors else 0


def rainbow_command(args) -> int:
    from rtrlbench.data_tools import policies, rainbow

    game = policies.check_game(args.game)
    agent_dir = args.agent_dir or rainbow.download_pretrained(game, args.pretrained)
    path = rainbow.record(game, agent_dir, args.out, steps=args.steps, seed=args.seed, progress=not args.no_progress)
    print(f"wrote {args.steps:,} frames of {game} to {path}; build its data set with "
          f"`rtrlbench data atari --game {game} --policy-file {path}`")
    return 0


def _summary(result) -> str:
    """Two lines per game: what was done with its speed, then its episodes and returns."""
    returns, counts = result.returns, result.in_step
    if result.reused:
        head = f"{result.game}: reused {result.path} ({result.steps:,} steps)"
    else:
        head = (f"{result.game}: wrote {result.path} ({result.steps:,} steps in {result.seconds:.1f} s: "
                f"{result.steps / result.seconds:,.0f} steps/s, {result.steps / result.cpu_seconds:,.0f} per CPU second)")
    timed = f", {counts['episodes_timed_out']} at the recorder's frame limit" if counts["episodes_timed_out"] else ""
    stats = (f"return min {returns.min():,} / mean {np.mean(returns):,.1f} / max {returns.max():,}"
             if len(returns) else "no finished episode")
    return (f"{head}\n  {counts['episodes_in_step']} of {counts['episodes']} finished episodes in step with the "
            f"recorded play{timed}; {stats}")
