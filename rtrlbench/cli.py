"""The ``rtrlbench`` command. Each area of the suite adds its own subcommands here."""
from __future__ import annotations

import argparse
import importlib
import json
import sys

#: Modules with ``register(subparsers)``; each adds one or more subcommands.
COMMAND_MODULES = [
    "rtrlbench.commands",
    "rtrlbench.data_tools.cli",
    "rtrlbench.sweep_cli",
    "rtrlbench.leaderboard.commands",
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


#: Exit status after Ctrl-C (128 + SIGINT), as a shell reports it.
INTERRUPTED = 130


def parse_json_object(text: str, what: str) -> dict:
    """Parse a JSON object given on the command line, naming the option when it is not one."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{what} must be a JSON object, e.g. '{{\"alpha\": 0.001}}': {error}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object, got {text!r}")
    return value


if __name__ == "__main__":
    sys.exit(main())
