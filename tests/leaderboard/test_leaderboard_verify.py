"""From run records to a submission in one command, and verification by rerunning seeds: the
outcome is recorded in the submission's file, and a failed verification leaves the ranking."""
from __future__ import annotations

import json

import pytest

from rtrlbench.cli import main
from rtrlbench.leaderboard.convert import find_records, records_to_submission
from rtrlbench.leaderboard.submission import SubmissionError, check_submission
from rtrlbench.leaderboard.submission_files import load_folder
from rtrlbench.leaderboard.submit import submit
from rtrlbench.leaderboard.verify import verify
from rtrlbench.run import run
from test_leaderboard_support import ENV, METHOD, SEEDS, STEPS, make_document, world, write  # noqa: F401


def test_make_submission_from_run_and_sweep_records(tmp_path, world, capsys):  # noqa: F811
    runs, store = tmp_path / "runs", tmp_path / "store" / "runs"
    store.mkdir(parents=True)
    for record in world["records"]["oracle"]:
        (runs / "x").mkdir(parents=True, exist_ok=True)
        (runs / "x" / f"{record['seed']}.json").write_text(json.dumps(record))
    for record in world["records"]["zero"]:  # the sweep store's layout
        (store / f"zero-{record['seed']}.json").write_text(json.dumps({"run_id": "r", "spec": {}, "result": record}))
    (store.parent / "selections.json").write_text("{}")  # not a record: ignored
    assert len(find_records([runs, store.parent])) == 6
    out = tmp_path / "sub.json"
    args = ["leaderboard", "make-submission", str(runs), str(store.parent), "-o", str(out), "--name", "Zero",
            "--code-url", METHOD["code_url"], "--commit", METHOD["commit"], "--contact", METHOD["contact"],
            "--hardware", METHOD["hardware"]]
    assert main(args) == 2
    assert "hold 2 configurations; choose one with" in capsys.readouterr().err
    assert main(args + ["--learner", "zero"]) == 0
    document = json.loads(out.read_text())
    check_submission(document)
    assert document["method"]["learner"] == "zero"
    (result,) = document["results"]
    assert [r["seed"] for r in result["runs"]] == SEEDS and result["steps"] == STEPS and result["flops_per_step"] == 0
    assert [r["final_msre"] for r in result["runs"]] == [r["final_msre"] for r in world["records"]["zero"]]


@pytest.mark.parametrize("flag, value, field", [("--commit", "abc123", "method.commit"),
                                                 ("--name", "<b>Bold</b>", "method.name: markup"),
                                                 ("--code-url", "example.org", "method.code_url")])
def test_make_submission_refuses_what_submit_would_refuse(tmp_path, world, capsys, flag, value, field):  # noqa: F811
    """Rough edge 2: the file is checked against the schema when it is made, not first at submit."""
    runs = tmp_path / "runs"
    runs.mkdir()
    for record in world["records"]["zero"]:
        (runs / f"{record['seed']}.json").write_text(json.dumps(record))
    args = {"--name": "Zero", "--code-url": METHOD["code_url"], "--commit": METHOD["commit"],
            "--contact": METHOD["contact"], "--hardware": METHOD["hardware"], flag: value}
    out = tmp_path / "sub.json"
    assert main(["leaderboard", "make-submission", str(runs), "-o", str(out),
                 *[x for pair in args.items() for x in pair]]) == 2
    assert field in capsys.readouterr().err and not out.exists()


def test_records_with_other_env_arguments_are_refused(tmp_path, world):  # noqa: F811
    records = [run(ENV, "zero", STEPS, seed, env_kwargs={"gamma": 0.8}, progress=False) for seed in SEEDS]
    with pytest.raises(SubmissionError, match=r"^results\[0\]\.dataset_checksum: .* different stream"):
        records_to_submission(records, name="Zero", **METHOD)  # already when making the file
    document = make_document(world, "zero", "Zero")
    document["results"][0]["dataset_checksum"] = "spec-sha256:00"
    with pytest.raises(SubmissionError, match=r"^results\[0\]\.dataset_checksum: .* different stream"):
        submit(write(tmp_path, document), tmp_path / "subs", None, world["references"])


def test_verify_records_the_outcome_and_a_failure_leaves_the_ranking(tmp_path, world):  # noqa: F811
    subs, out = tmp_path / "subs", tmp_path / "out"
    honest, _, honest_file = submit(write(tmp_path, make_document(world)), subs, None, world["references"])
    forged = make_document(world, name="Forged")
    for r in forged["results"][0]["runs"]:  # consistent, but not what the oracle achieves
        r["final_msre"] *= 1.1
        r["curve"] = [v * 1.1 for v in r["curve"]]
    forged_id, _, forged_file = submit(write(tmp_path, forged, "forged.json"), subs, out, world["references"])
    assert (out / "README.md").read_text().count("(not yet verified)") == 2

    passed, details = verify(honest, seeds=[1], submissions_dir=subs, out_dir=out,
                             references_path=world["references"], progress=False, verified_by="Tester")
    assert passed and [(d["seed"], d["rerun"] == d["submitted"]) for d in details] == [(1, True)], details
    (record,) = json.loads(honest_file.read_text())["verifications"]
    assert record["verified_by"] == "Tester" and record["passed"] and record["details"] == details
    assert record["package_version"] and record["verified_at"].endswith("+00:00") and record["tolerance"] == 0.01
    assert main(["leaderboard", "verify", forged_file.name, "--submissions", str(subs), "--out", str(out),
                 "--references", str(world["references"]), "--no-progress", "--seeds", "0"]) == 1
    assert json.loads(forged_file.read_text())["verifications"][0]["passed"] is False
    readme = (out / "README.md").read_text()
    assert "| 1 | Oracle ✔ verified |" in readme and "| ✘ | Forged ✘ verification failed |" in readme
    html = (out / "site" / "index.html").read_text()
    assert html.count('class="badge verified" title') == 1 and html.count('class="badge failed" title') == 1
    with pytest.raises(ValueError, match=r"seed\(s\) \[9\] are not in"):
        verify(honest, seeds=[9], submissions_dir=subs, out_dir=None, references_path=world["references"],
               progress=False)
    with pytest.raises(KeyError, match="no submission 99 .*#1 oracle__20k.json, #2 forged__20k.json"):
        verify(99, submissions_dir=subs, out_dir=None, progress=False)
    assert [len(s.verifications) for s in load_folder(subs)] == [1, 1]  # the refused calls wrote nothing


def test_unrunnable_learner_cannot_be_verified(tmp_path, world):  # noqa: F811
    document = make_document(world)
    document["method"]["learner"] = None
    subs = tmp_path / "subs"
    submission_id, _, _ = submit(write(tmp_path, document), subs, None, world["references"])
    with pytest.raises(ValueError, match="names no learner this suite can run"):
        verify(submission_id, submissions_dir=subs, out_dir=None, progress=False)


def test_seed_table_runs_submits_verifies_and_resumes(tmp_path, world):  # noqa: F811
    from rtrlbench.leaderboard.seed_table import seed_table

    config = tmp_path / "seed.json"
    config.write_text(json.dumps({"code_url": "https://example.org", "contact": "x", "hardware": "y", "methods": [
        {"name": "Zero", "learner": "zero", "hyperparameters": {}, "description": "zero"},
        {"name": "Later", "learner": "ccn", "description": "", "skip": "not tuned"},
        {"name": "Oracle", "learner": "oracle", "description": "floor"}]}))
    kwargs = dict(records_dir=tmp_path / "runs", submissions_dir=tmp_path / "subs", out_dir=tmp_path / "out",
                  references_path=world["references"], progress=False)
    report = seed_table(config, commit="abc1234", **kwargs)
    assert report[0].startswith("Zero: submission #1 (TraceConditioning-v0 1.000); verified")
    assert report[1] == "Later: skipped (not tuned)" and report[2].startswith("Oracle: submission #2")
    assert seed_table(config, commit="abc1234", **kwargs)[0] == "Zero: already submitted at commit abc1234"
    again = seed_table(config, commit="def5678", **kwargs)  # records reused: same numbers
    assert again[0].startswith("Zero: unchanged (results: identical results were already submitted as zero__20k")
    readme = (tmp_path / "out" / "README.md").read_text()
    assert readme.count("✔ verified") == 2


def test_seed_table_runs_a_method_only_on_its_envs(tmp_path, world):  # noqa: F811
    from rtrlbench.leaderboard.seed_table import seed_table

    config = tmp_path / "seed.json"
    methods = [{"name": "Zero", "learner": "zero", "description": "zero", "envs": ["TraceConditioning"]}]
    config.write_text(json.dumps({"code_url": "https://example.org", "contact": "x", "hardware": "y",
                                  "methods": methods}))
    kwargs = dict(records_dir=tmp_path / "runs", submissions_dir=tmp_path / "subs", out_dir=tmp_path / "out",
                  references_path=world["references"], progress=False)
    assert seed_table(config, commit="abc1234", **kwargs)[0].startswith("Zero: submission #1 (TraceConditioning-v0")
    methods[0].update(name="Elsewhere", envs=["AtariPrediction/"])
    config.write_text(json.dumps({"code_url": "https://example.org", "contact": "x", "hardware": "y",
                                  "methods": methods}))
    with pytest.raises(ValueError, match="'Elsewhere': no reference env id starts with any of"):
        seed_table(config, commit="abc1234", **kwargs)
