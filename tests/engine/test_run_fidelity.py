"""Gradient fidelity from ``rtrlbench run --fidelity-every N`` and in sweep records."""
import json

import numpy as np
import pytest

from rtrlbench.cli import main
from rtrlbench.evaluation.fidelity_curves import fidelity_result
from rtrlbench.run import fidelity_learners, run


def test_run_records_the_summary_and_curves_and_prints_them(tmp_path, capsys):
    code = main(["run", "TracePatterning-v0", "--learner", "rnn_rtrl", "--steps", "3000", "--fidelity-every", "50",
                 "--hparams", '{"n_hidden": 3}', "--out", str(tmp_path), "--no-progress"])
    assert code == 0
    out = capsys.readouterr().out
    assert "gradient fidelity vs exact RTRL (60 measurements, every 50 steps): cosine mean 1.0000" in out
    (path,) = tmp_path.glob("*.json")
    record = json.loads(path.read_text())  # strict JSON: no NaN
    fidelity = record["fidelity"]
    assert record["hyperparameters"]["fidelity_every"] == 50 and fidelity["every"] == 50
    assert fidelity["summary"]["measurements"] == 60
    assert abs(fidelity["summary"]["cosine_mean"] - 1) <= 1e-12 and fidelity["summary"]["relative_error_mean"] <= 1e-12
    assert abs(fidelity["summary"]["cosine_recurrent_mean"] - 1) <= 1e-12  # w learns: the recurrent part is not 0
    assert len(fidelity["curve_cosine"]) == len(record["curve"]) == 100  # the MSRE curve's blocks of 30 steps
    assert sum(value is not None for value in fidelity["curve_cosine"]) == 60


def test_an_approximation_measures_below_one_and_the_hyperparameter_works_alike():
    by_option = run("TracePatterning-v0", "rflo", 1000, seed=2, fidelity_every=20, progress=False,
                    hyperparameters={"n_hidden": 3})
    by_hparam = run("TracePatterning-v0", "rflo", 1000, seed=2, progress=False,
                    hyperparameters={"n_hidden": 3, "fidelity_every": 20})
    assert by_option["fidelity"] == by_hparam["fidelity"] and by_option["curve"] == by_hparam["curve"]
    assert by_option["fidelity"]["summary"]["cosine_mean"] < 0.99  # random feedback: far from the gradient
    assert "fidelity" not in run("TracePatterning-v0", "rflo", 500, seed=2, progress=False)


def test_curves_average_the_measurements_of_each_block():
    record = {"step": np.array([0, 10, 20, 45]), "cosine": np.array([1.0, 0.5, np.nan, 0.2]),
              "relative_error": np.array([0.0, 1.0, np.nan, 3.0]), "cosine_recurrent": np.full(4, np.nan),
              "relative_error_recurrent": np.array([1.0, 2.0, 3.0, 4.0])}
    result = fidelity_result(record, 10, curve_window=25, steps=75)
    assert result["curve_cosine"] == [0.75, 0.2, None] and result["curve_relative_error"] == [0.5, 3.0, None]
    assert result["curve_cosine_recurrent"] == [None, None, None] and result["summary"]["cosine_recurrent_mean"] is None
    assert result["curve_relative_error_recurrent"] == [2.0, 4.0, None]
    assert result["summary"]["measurements"] == 4 and result["summary"]["cosine_last"] == 0.2


@pytest.mark.parametrize("argv, message", [
    (["--learner", "ccn", "--fidelity-every", "10"], "learner 'ccn' has no exact RTRL reference"),
    (["--learner", "uoro", "--fidelity-every", "0"], "fidelity_every must be a positive integer"),
])
def test_bad_fidelity_requests_exit_2_with_a_message(argv, message, capsys):
    assert main(["run", "TracePatterning-v0", "--steps", "10", *argv, "--no-progress"]) == 2
    assert message in capsys.readouterr().err


def test_the_measuring_learners_are_the_dense_families_and_tbptt():
    assert set(fidelity_learners()) == {"tbptt", "lstm_rtrl", "snap1", "uoro", "rnn_rtrl", "rnn_uoro", "rflo"}


def test_sweep_records_carry_the_fidelity_summary():
    from rtrlbench.sweep.dask_engine import run_prediction
    from rtrlbench.sweep.result_analysis import results_frame

    spec = {"env_id": "TracePatterning-v0", "learner": "snap1", "seed": 0, "steps": 600,
            "hyperparameters": {"n_hidden": 2, "fidelity_every": 30}}
    result = run_prediction(spec)
    frame = results_frame([{"run_id": "x", "spec": spec, "result": result}])
    assert frame.loc[0, "fidelity.measurements"] == 20
    assert frame.loc[0, "fidelity.cosine_mean"] == pytest.approx(result["fidelity"]["summary"]["cosine_mean"])
    assert frame.loc[0, "hp.fidelity_every"] == 30
