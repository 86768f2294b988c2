"""The ``rtrlbench`` command. Each area of the suite adds its own subcommands here."""
from __future__ import annotations

import argparse
import importlib
import os
import sys

#: Modules with ``register(subparsers)``; each adds one or more subcommands.
COMMAND_MODULES = [
    "rtrlbench.run_commands",
    "rtrlbench.data_tools.data_commands",
    "rtrlbench.sweep.sweep_commands",
    "rtrlbench.leaderboard.leaderboard_commands",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rtrlbench", description="Benchmark suite for online recurrent learning.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args) or 0
    except (ValueError, FileNotFoundError, KeyError, RuntimeError) as error:
        print(f"rtrlbench {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\nrtrlbench {args.command}: interrupted; no partly written file was kept", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:  # the reader went away (`rtrlbench envs --atari | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


#: Exit status after Ctrl-C (128 + SIGINT), as a shell reports it.
INTERRUPTED = 130


if __name__ == "__main__":
    sys.exit(main())
