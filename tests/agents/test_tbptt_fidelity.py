"""Gradient fidelity of T-BPTT (``fidelity_every=N``): its truncated dy/dtheta against the exact,
untruncated one (a dense-LSTM RTRL shadow on the same weights and stream)."""
import numpy as np
import pytest

from rtrlbench.agents.tbptt import TBPTTLearner
from torch_lstm_reference import torch_lstm_output_and_gradient


def _stream(steps, n, seed=0):
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(steps, n))
    return obs, rng.normal(size=steps) * 0.1, np.where(rng.random(steps) < 0.05, 0.0, 0.9)


def _frozen(n, d, k, seed=1, **hp):
    learner = TBPTTLearner(n, n_hidden=d, truncation=k, alpha=0.0, optimizer="sgd", fidelity_every=5, **hp)
    learner.theta[:] = np.random.default_rng(seed).uniform(-1, 1, learner.theta.size)
    return learner


def test_cosine_is_one_when_the_window_covers_the_stream_and_below_for_a_short_one():
    obs, cumulant, gamma = _stream(60, 5)
    long, short = _frozen(5, 3, 60), _frozen(5, 3, 3)
    long.run_chunk(obs, cumulant, gamma), short.run_chunk(obs, cumulant, gamma)
    exact, truncated = long.fidelity(), short.fidelity()
    assert exact["step"].tolist() == truncated["step"].tolist() == list(range(0, 60, 5))
    assert np.all(np.abs(exact["cosine"] - 1) <= 1e-12) and np.all(exact["relative_error"] <= 1e-10)
    assert np.all(np.abs(truncated["cosine"][:1] - 1) <= 1e-12)  # step 0: the window is the whole stream
    assert truncated["cosine"].min() < 0.999 and truncated["relative_error"].max() > 1e-2


def test_each_record_is_the_agreement_of_the_torch_truncated_and_full_gradients():
    torch = pytest.importorskip("torch")
    obs, cumulant, gamma = _stream(40, 4, seed=2)
    learner = _frozen(4, 2, 4, seed=3)
    learner.run_chunk(obs, cumulant, gamma)
    expected = []
    for t in range(0, 40, 5):
        _, full = torch_lstm_output_and_gradient(torch, learner.parameters(), obs, t)
        _, cut = torch_lstm_output_and_gradient(torch, learner.parameters(), obs, t, truncation=4)
        row = []
        for g, e in ((cut, full), (cut[:-2], full[:-2])):  # all parameters, then all but the readout w
            row += [g @ e / np.linalg.norm(g) / np.linalg.norm(e), np.linalg.norm(g - e) / np.linalg.norm(e)]
        expected.append(row)
    record = learner.fidelity()
    columns = ("cosine", "relative_error", "cosine_recurrent", "relative_error_recurrent")
    np.testing.assert_allclose(np.column_stack([record[key] for key in columns]), expected, rtol=1e-8, atol=1e-12)
    assert np.nanmin(record["cosine_recurrent"]) < np.nanmin(record["cosine"])  # the exact readout part lifts it


@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop"])
def test_measuring_changes_nothing_and_resumes_from_a_checkpoint(optimizer):
    obs, cumulant, gamma = _stream(300, 6, seed=4)
    make = lambda seed, every: TBPTTLearner(6, seed=seed, n_hidden=3, truncation=8, alpha=0.01,  # noqa: E731
                                            optimizer=optimizer, fidelity_every=every)
    plain, measured = make(2, 0), make(2, 10)
    expected = plain.run_chunk(obs, cumulant, gamma)
    whole = np.concatenate([measured.run_chunk(obs[:130], cumulant[:130], gamma[:130]),
                            measured.run_chunk(obs[130:], cumulant[130:], gamma[130:])])
    np.testing.assert_array_equal(whole, expected)
    stepped = make(2, 10)
    np.testing.assert_array_equal([stepped.step(obs[t], cumulant[t], gamma[t]) for t in range(300)], expected)
    np.testing.assert_array_equal(stepped.fidelity()["cosine"], measured.fidelity()["cosine"])
    first = make(2, 10)
    first.run_chunk(obs[:150], cumulant[:150], gamma[:150])
    restored = make(5, 10)
    restored.set_state(first.get_state())
    restored.run_chunk(obs[150:], cumulant[150:], gamma[150:])
    np.testing.assert_array_equal(restored.fidelity()["cosine"], measured.fidelity()["cosine"][15:])
    with pytest.raises(ValueError, match="fidelity_every"):  # a checkpoint without the shadow
        make(2, 10).set_state(plain.get_state())
    with pytest.raises(ValueError, match="fidelity_every"):  # the unmeasured learner cannot hold the shadow
        plain.set_state(first.get_state())
    assert "fidelity_every" in make(2, 10).hyperparameters() and "fidelity_every" not in plain.hyperparameters()


def test_learning_with_a_covering_window_stays_close_to_exact_and_float32_measures_too():
    """With weights changing, online T-BPTT's backward pass uses the current U and w over activations
    of older weights while RTRL's influence matrices carry the older weights' Jacobians: close, not equal."""
    obs, cumulant, gamma = _stream(200, 5, seed=5)
    learner = TBPTTLearner(5, n_hidden=3, truncation=200, alpha=1e-3, seed=1, fidelity_every=10)
    learner.run_chunk(obs, cumulant, gamma)
    cosine = learner.fidelity()["cosine"]
    assert cosine[0] == pytest.approx(1.0, abs=1e-12) and np.nanmin(cosine[1:]) > 0.9
    single = _frozen(5, 3, 60, dtype="float32")
    single.run_chunk(*_stream(60, 5))
    assert np.all(np.abs(single.fidelity()["cosine"] - 1) <= 1e-5)


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_bad_fidelity_every_raises(bad):
    with pytest.raises(ValueError, match="fidelity_every"):
        TBPTTLearner(5, fidelity_every=bad)
