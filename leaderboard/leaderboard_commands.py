"""``rtrlbench leaderboard ...``: submit, verify, make-submission, render, references, schema."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from rtrlbench.validation import json_object


def register(subparsers) -> None:
    board = subparsers.add_parser("leaderboard", help="score submissions and publish the leaderboard",
                                  description="Score submissions against the reference T-BPTT and publish the table.")
    commands = board.add_subparsers(dest="leaderboard_command", required=True, metavar="ACTION")
    defaults = argparse.ArgumentDefaultsHelpFormatter

    submit = commands.add_parser("submit", help="check, score and record a submission; regenerate the table",
                                 formatter_class=defaults)
    submit.add_argument("file", help="submission JSON (see `rtrlbench leaderboard schema`)")
    submit.add_argument("--dry-run", action="store_true", help="do every check and score, then record nothing")
    _storage(submit)
    submit.set_defaults(handler=submit_command)

    verify = commands.add_parser("verify", help="rerun seeds of a submission and mark it verified if they agree",
                                 formatter_class=defaults)
    verify.add_argument("id", type=int, help="submission id (the table's ID column)")
    verify.add_argument("--seeds", type=int, nargs="+", default=None, help="seeds to rerun (default: the lowest two)")
    verify.add_argument("--envs", nargs="+", default=None, help="env ids to rerun (default: all of the submission's)")
    verify.add_argument("--tolerance", type=float, default=0.01, help="relative tolerance on the final MSRE")
    verify.add_argument("--no-progress", action="store_true", help="hide progress bars")
    _storage(verify)
    verify.set_defaults(handler=verify_command)

    make = commands.add_parser("make-submission", help="turn `rtrlbench run`/`sweep` results into a submission",
                               formatter_class=defaults)
    make.add_argument("records", nargs="+", help="run-record JSON files or folders (e.g. a sweep results store)")
    make.add_argument("-o", "--output", required=True, help="submission file to write")
    make.add_argument("--name", required=True, help="method name shown in the table")
    make.add_argument("--description", default="", help="plain-text description")
    make.add_argument("--code-url", required=True, help="http(s) URL of the code")
    make.add_argument("--commit", required=True, help="commit hash of that code")
    make.add_argument("--contact", required=True, help="name and e-mail or URL")
    make.add_argument("--hardware", required=True, help="e.g. 'AMD EPYC 7B13, 1 core'")
    make.add_argument("--learner", default=None, help="only records of this learner")
    make.add_argument("--hparams", default="{}", help="only records whose hyperparameters include these (JSON)")
    make.add_argument("--steps", type=int, default=None, help="only records with this budget")
    make.set_defaults(handler=make_submission_command)

    render = commands.add_parser("render", help="regenerate README.md and the HTML page from the database",
                                 formatter_class=defaults)
    _storage(render)
    render.set_defaults(handler=render_command)

    references = commands.add_parser("references", help="recompute the reference T-BPTT numbers",
                                     formatter_class=defaults)
    references.add_argument("--config", default=None, help="reference config (default: the shipped one)")
    references.add_argument("--output", default=None, help="reference file to write (default: the shipped one)")
    references.add_argument("--only", nargs="+", default=None, help="recompute only these env ids, keep the rest")
    references.add_argument("--records", default=None,
                            help="also save every run's record here (for `make-submission`); runs already "
                                 "saved there are reused, so an interrupted regeneration resumes")
    references.add_argument("--no-progress", action="store_true", help="hide progress bars")
    references.set_defaults(handler=references_command)

    seed = commands.add_parser("seed-table", help="run, submit and verify the suite's own learners",
                               formatter_class=defaults)
    seed.add_argument("--config", default=None, help="methods to run (default: leaderboard/seed_config.json)")
    seed.add_argument("--records", default="leaderboard-runs", help="folder for run records (reused on rerun)")
    seed.add_argument("--commit", default=None, help="code commit to record (default: git HEAD)")
    seed.add_argument("--no-progress", action="store_true", help="hide progress bars")
    _storage(seed)
    seed.set_defaults(handler=seed_command)

    schema = commands.add_parser("schema", help="print the submission JSON schema")
    schema.set_defaults(handler=schema_command)


def _storage(parser) -> None:
    from rtrlbench.leaderboard.database import DEFAULT_DB
    from rtrlbench.leaderboard.render import DEFAULT_OUT

    parser.add_argument("--db", default=str(DEFAULT_DB), help="leaderboard database (SQLite)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="folder for README.md and site/")
    parser.add_argument("--references", default=None, help="reference file (default: the shipped one)")


def submit_command(args) -> int:
    from rtrlbench.leaderboard.submit import submit

    submission_id, scores = submit(args.file, args.db, args.out, args.references, dry_run=args.dry_run)
    if args.dry_run:
        print(f"submission is valid and would be #{submission_id} (dry run: nothing recorded)")
    else:
        print(f"recorded as submission #{submission_id}; table regenerated in {args.out}")
    for score in scores:
        print(f"  {score['env_id']} ({score['steps']:,} steps): normalised error {score['normalised_mean']:.4f}"
              + (f", x oracle {score['oracle_ratio_mean']:.3f}" if score["oracle_ratio_mean"] is not None else ""))
    return 0


def verify_command(args) -> int:
    from rtrlbench.leaderboard.verify import verify

    passed, details = verify(args.id, args.seeds, args.envs, args.tolerance, args.db, args.out, args.references,
                             progress=not args.no_progress)
    for d in details:
        print(f"  {d['env_id']} seed {d['seed']}: submitted {d['submitted']:.6g}, rerun {d['rerun']:.6g}"
              f" {'ok' if d['agree'] else 'DISAGREES'}")
    print(f"submission #{args.id} {'verified' if passed else 'NOT verified'} (tolerance {args.tolerance:.2%})")
    return 0 if passed else 1


def make_submission_command(args) -> int:
    from rtrlbench.atomic import write_json
    from rtrlbench.leaderboard.convert import find_records, records_to_submission

    document = records_to_submission(
        find_records(args.records), name=args.name, description=args.description, code_url=args.code_url,
        commit=args.commit, contact=args.contact, hardware=args.hardware, learner=args.learner,
        hyperparameters=json_object(args.hparams, "--hparams"), steps=args.steps)
    path = write_json(args.output, document)
    envs = ", ".join(r["env_id"] for r in document["results"])
    print(f"wrote {path} ({envs}); check it with `rtrlbench leaderboard submit {path} --dry-run`")
    return 0


def render_command(args) -> int:
    from rtrlbench.leaderboard.submit import render

    paths = render(args.db, args.out, args.references)
    print(f"wrote {len(paths)} files under {args.out}")
    return 0


def references_command(args) -> int:
    from rtrlbench.leaderboard.references import regenerate

    path = regenerate(args.config, args.output, args.only, progress=not args.no_progress,
                      records_dir=args.records)
    print(f"wrote {path}")
    return 0


def seed_command(args) -> int:
    from rtrlbench.leaderboard.seed_table import seed_table

    for line in seed_table(args.config, args.records, args.commit, args.db, args.out, args.references,
                           progress=not args.no_progress):
        print(line)
    return 0


def schema_command(args) -> int:
    from rtrlbench.leaderboard.submission import SCHEMA_PATH

    print(json.dumps(json.loads(Path(SCHEMA_PATH).read_text()), indent=2))
    return 0
