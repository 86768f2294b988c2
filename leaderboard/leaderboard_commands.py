"""``rtrlbench leaderboard ...``: submit, check, build, verify, make-submission, references, seed-table, schema."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from rtrlbench.terminal import DefaultsHelpFormatter
from rtrlbench.validation import json_object


def register(subparsers) -> None:
    board = subparsers.add_parser("leaderboard", help="score submissions and publish the leaderboard",
                                  description="Score submissions against the reference T-BPTT and publish the table.")
    commands = board.add_subparsers(dest="leaderboard_command", required=True, metavar="ACTION")
    defaults = DefaultsHelpFormatter

    submit = commands.add_parser("submit", help="check and score a submission, write its file under "
                                 "leaderboard/submissions/ and rebuild the table", formatter_class=defaults)
    submit.add_argument("file", help="submission JSON (see `rtrlbench leaderboard schema`)")
    submit.add_argument("--dry-run", action="store_true", help="do every check and score, then write nothing")
    submit.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    submit.add_argument("--replace", action="store_true",
                        help="replace the file of the same method name and budgets (a new version of the method)")
    _storage(submit)
    submit.set_defaults(handler=submit_command)

    build = commands.add_parser("build", aliases=["render"], formatter_class=defaults,
                                help="build the database, README.md and site/ from the submission files")
    build.add_argument("--db", default=None, help="database file to write (default: OUT/leaderboard.sqlite)")
    build.add_argument("--reformat", action="store_true",
                       help="also rewrite every submission file in the canonical layout")
    build.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    _storage(build)
    build.set_defaults(handler=build_command)

    check = commands.add_parser("check", formatter_class=defaults,
                                help="validate every submission file and that README.md and site/ are up to date "
                                     "(what CI runs)")
    check.add_argument("--files-only", action="store_true", help="do not compare README.md and site/ with the files")
    check.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    _storage(check)
    check.set_defaults(handler=check_command)

    verify = commands.add_parser("verify", help="rerun seeds of a submission and record whether they agree",
                                 formatter_class=defaults)
    verify.add_argument("id", help="the table's ID number, or the submission's file name")
    verify.add_argument("--by", default="rtrl-bench maintainers", help="who reruns (recorded in the file)")
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
    make.add_argument("--commit", required=True, help="commit hash of that code (7-64 lowercase hex digits)")
    make.add_argument("--contact", required=True, help="name and e-mail or URL")
    make.add_argument("--hardware", required=True, help="e.g. 'AMD EPYC 7B13, 1 core'")
    make.add_argument("--learner", help="only records of this learner (default: all)")
    make.add_argument("--hparams", default="{}", help="only records whose hyperparameters include these (JSON)")
    make.add_argument("--steps", type=int, help="only records with this budget (default: any)")
    make.set_defaults(handler=make_submission_command)

    references = commands.add_parser("references", help="recompute the reference T-BPTT numbers",
                                     formatter_class=defaults)
    references.add_argument("--config", help="reference config (default: the shipped one)")
    references.add_argument("--output", help="reference file to write (default: the shipped one)")
    references.add_argument("--only", nargs="+", help="recompute only these env ids, keep the rest (default: all)")
    references.add_argument("--records",
                            help="also save every run's record here (for `make-submission`); runs already "
                                 "saved there are reused, so an interrupted regeneration resumes")
    references.add_argument("--no-progress", action="store_true", help="hide progress bars")
    references.set_defaults(handler=references_command)

    seed = commands.add_parser("seed-table", help="run, submit and verify the suite's own learners",
                               formatter_class=defaults)
    seed.add_argument("--config", help="methods to run (default: leaderboard/seed_config.json)")
    seed.add_argument("--records", default="leaderboard-runs", help="folder for run records (reused on rerun)")
    seed.add_argument("--commit", help="code commit to record (default: git HEAD)")
    seed.add_argument("--no-progress", action="store_true", help="hide progress bars")
    _storage(seed)
    seed.set_defaults(handler=seed_command)

    schema = commands.add_parser("schema", help="print the submission JSON schema")
    schema.set_defaults(handler=schema_command)


def _storage(parser) -> None:
    """The folders every leaderboard command reads and writes. Defaults (None) are the package's
    own ``leaderboard/submissions/`` and ``leaderboard/`` (resolved by :func:`_folders`)."""
    parser.add_argument("--submissions", help="folder of submission files (default: leaderboard/submissions/ "
                                              "of the installed package)")
    parser.add_argument("--out", help="folder for README.md, site/ and leaderboard.sqlite (default: leaderboard/ "
                                      "of the installed package)")
    parser.add_argument("--references", help="reference file (default: the shipped one)")


def _folders(args) -> tuple[Path, Path]:
    from rtrlbench.leaderboard.render import DEFAULT_OUT
    from rtrlbench.leaderboard.submission_files import SUBMISSIONS_DIR

    return Path(args.submissions or SUBMISSIONS_DIR), Path(args.out or DEFAULT_OUT)


def submit_command(args) -> int:
    from rtrlbench.leaderboard.submit import submit

    submissions, out = _folders(args)
    submission_id, scores, path = submit(args.file, submissions, out, args.references, dry_run=args.dry_run,
                                         replace=args.replace, progress=not args.no_progress)
    if args.dry_run:
        print(f"submission is valid and would be #{submission_id}, {path} (dry run: nothing written)")
    else:
        print(f"wrote {path} (submission #{submission_id}); README.md and site/ rebuilt in {out}. "
              "Commit these files and open a pull request (leaderboard/README.md, 'Submitting').")
    for score in scores:
        print(f"  {score['env_id']} ({score['steps']:,} steps): normalised error {score['normalised_mean']:.4f}"
              + (f", x oracle {score['oracle_ratio_mean']:.3f}" if score["oracle_ratio_mean"] is not None else ""))
    return 0


def verify_command(args) -> int:
    from rtrlbench.leaderboard.verify import verify

    submissions, out = _folders(args)
    passed, details = verify(args.id, args.seeds, args.envs, args.tolerance, submissions, out, args.references,
                             progress=not args.no_progress, verified_by=args.by)
    for d in details:
        print(f"  {d['env_id']} seed {d['seed']}: submitted {d['submitted']:.6g}, rerun {d['rerun']:.6g}"
              f" {'ok' if d['agree'] else 'DISAGREES'}")
    print(f"submission {args.id} {'verified' if passed else 'FAILED verification'} (tolerance {args.tolerance:.2%}); "
          "recorded in its file")
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


def build_command(args) -> int:
    from rtrlbench.leaderboard.board_build import build

    submissions, out = _folders(args)
    paths = build(submissions, out, args.references, db_path=args.db, reformat=args.reformat,
                  progress=not args.no_progress)
    print(f"built {len(paths)} files from {submissions} (README.md, site/, the database) under {out}")
    return 0


def check_command(args) -> int:
    from rtrlbench.leaderboard.board_build import check
    from rtrlbench.leaderboard.submission_files import load_folder

    submissions, out = _folders(args)
    problems = check(submissions, None if args.files_only else out, args.references, progress=not args.no_progress)
    for problem in problems:
        print(f"rtrlbench leaderboard check: {problem}")
    if not problems:
        print(f"{len(load_folder(submissions))} submission files valid"
              + ("" if args.files_only else f"; {out / 'README.md'} and {out / 'site'} up to date"))
    return 1 if problems else 0


def references_command(args) -> int:
    from rtrlbench.leaderboard.references import regenerate

    path = regenerate(args.config, args.output, args.only, progress=not args.no_progress,
                      records_dir=args.records)
    print(f"wrote {path}")
    return 0


def seed_command(args) -> int:
    from rtrlbench.leaderboard.seed_table import seed_table

    submissions, out = _folders(args)
    for line in seed_table(args.config, args.records, args.commit, submissions, out, args.references,
                           progress=not args.no_progress):
        print(line)
    return 0


def schema_command(args) -> int:
    from rtrlbench.leaderboard.submission import SCHEMA_PATH

    print(json.dumps(json.loads(Path(SCHEMA_PATH).read_text()), indent=2))
    return 0
