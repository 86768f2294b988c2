"""``rtrlbench envs`` and ``rtrlbench run``."""
from __future__ import annotations

import argparse

from rtrlbench.terminal import DefaultsHelpFormatter
from rtrlbench.validation import json_object


def register(subparsers) -> None:
    envs = subparsers.add_parser("envs", help="list the registered tasks")
    envs.add_argument("--atari", action="store_true", help="list the per-game Atari ids instead")
    envs.set_defaults(handler=list_envs)

    run = subparsers.add_parser("run", help="run a learner on a task and report its return error",
                                formatter_class=DefaultsHelpFormatter)
    run.add_argument("env_id", help="a task id from `rtrlbench envs`, e.g. TracePatterning-v0")
    run.add_argument("--learner", default="zero", help="learner name (see `rtrlbench learners`), or 'oracle'")
    run.add_argument("--steps", type=int, default=1_000_000, help="stream steps to learn from")
    run.add_argument("--seed", type=int, default=0, help="seed of the stream and of the learner's initialisation")
    run.add_argument("--hparams", default="{}", help="learner hyperparameters as a JSON object")
    run.add_argument("--env-kwargs", default="{}", help="env constructor arguments as a JSON object")
    run.add_argument("--final-window", type=int, default=None, help="steps in the final error window (default: the env's)")
    run.add_argument("--out", default=None, help="folder to write the result JSON into")
    run.add_argument("--fidelity-every", type=int, default=None, metavar="N",
                     help="measure the learner's gradient against exact RTRL every N steps (cosine, relative "
                          "error; learners with an exact reference: the dense-LSTM and tanh-RNN families, tbptt)")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    run.set_defaults(handler=run_command)

    learners = subparsers.add_parser("learners", help="list the available learners")
    learners.set_defaults(handler=list_learners)


def list_envs(args) -> int:
    from rtrlbench.envs.registration import listed_envs

    listed = listed_envs(atari_games=args.atari)
    width = max(map(len, listed))
    for env_id, summary in listed.items():
        print(f"{env_id:<{width}}  {summary}")
    return 0


def list_learners(args) -> int:
    from rtrlbench.agents.registry import LEARNERS

    for name in [*LEARNERS, "oracle"]:
        print(name)
    return 0


def run_command(args) -> int:
    from rtrlbench.run import run

    record = run(args.env_id, args.learner, args.steps, args.seed,
                 env_kwargs=json_object(args.env_kwargs, "--env-kwargs"),
                 hyperparameters=json_object(args.hparams, "--hparams"),
                 final_window=args.final_window, progress=not args.no_progress, out_dir=args.out,
                 fidelity_every=args.fidelity_every)
    print(f"{args.learner} on {args.env_id}, seed {args.seed}, {args.steps:,} steps: "
          f"return error (MSRE, last {record['final_window']:,} steps) = {record['final_msre']:.6g} "
          f"[{record['steps_per_second']:,.0f} steps/s learning; {record['compile_seconds']:.1f} s compiling "
          "numba kernels, not counted (the first run on a machine compiles; later runs load the cache)]")
    if "fidelity" in record:
        from rtrlbench.evaluation.fidelity_curves import describe_fidelity

        print(describe_fidelity(record["fidelity"]))
    if "path" in record:
        print(f"result written to {record['path']}")
    return 0
