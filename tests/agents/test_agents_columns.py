"""Columnar / constructive / CCN learners: exact gradients, staging, TD(lambda), API contracts."""
import copy

import numpy as np
import pytest

from rtrlbench.agents.ccn import CCNLearner, ColumnarLearner, ColumnNetworkLearner, ConstructiveLearner
from rtrlbench.agents.registry import make_learner

# --------------------------------------------------------------------------- independent reference


def _scale(var, eps, floor):
    return np.maximum(eps, np.sqrt(var)) if floor == "std" else np.sqrt(np.maximum(eps, var))


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def reference_predictions(theta, out_w, obs, n_in, per_stage, n_stages, steps_per_stage, beta, eps, floor,
                          out_stats=None, record=None):
    """y_t for every row of ``obs``, the network unrolled from the start with fixed parameters
    (plain numpy, written from the paper's equations independently of the compiled code).

    ``record``: a list that receives the output statistics (mu, var) of every step;
    ``out_stats``: such a list, used instead of the running statistics (a stop-gradient)."""
    n = per_stage * n_stages
    h, c = np.zeros(n), np.zeros(n)
    out_mu, out_var = np.zeros(n), np.ones(n)
    in_stats = {}
    offsets = [0]
    for s in range(n_stages):
        offsets.append(offsets[-1] + per_stage * 4 * (n_in + s * per_stage + 2))
    stage, predictions = 0, []
    for t, x in enumerate(obs):
        if stage < n_stages - 1 and t >= (stage + 1) * steps_per_stage:
            stage += 1
        raw = list(np.asarray(x, dtype=np.float64))
        for s in range(stage + 1):
            r = np.array(raw)
            if s not in in_stats:
                in_stats[s] = [np.zeros(len(r)), np.ones(len(r))]
            mu, var = in_stats[s]
            if s == stage:
                mu = beta * mu + (1 - beta) * r
                var = beta * var + (1 - beta) * (mu - r) ** 2
                in_stats[s] = [mu, var]
            z = (r - mu) / _scale(var, eps, floor)
            m = len(r)
            for col in range(per_stage):
                k = s * per_stage + col
                block = theta[offsets[s] + col * 4 * (m + 2): offsets[s] + (col + 1) * 4 * (m + 2)].reshape(4, m + 2)
                a = block[:, :m] @ z + block[:, m] * h[k] + block[:, m + 1]
                i, f, o, g = _sigmoid(a[0]), _sigmoid(a[1]), _sigmoid(a[2]), np.tanh(a[3])
                c[k] = f * c[k] + i * g
                h[k] = o * np.tanh(c[k])
            raw += list(h[s * per_stage:(s + 1) * per_stage])
        built = (stage + 1) * per_stage
        out_mu[:built] = beta * out_mu[:built] + (1 - beta) * h[:built]
        out_var[:built] = beta * out_var[:built] + (1 - beta) * (out_mu[:built] - h[:built]) ** 2
        if out_stats is not None:
            out_mu[:], out_var[:] = out_stats[t]
        if record is not None:
            record.append((out_mu.copy(), out_var.copy()))
        h_hat = (h[:built] - out_mu[:built]) / _scale(out_var[:built], eps, floor)
        predictions.append(out_w[0] + out_w[1:1 + built] @ h_hat)
    return np.array(predictions)


def _random_stream(n_in, steps, seed):
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(steps, n_in)).astype(np.float32)
    obs[:, 0] = rng.random(steps) < 0.3  # a sparse binary input, like a CS bit
    cumulant = (rng.random(steps) < 0.1).astype(np.float64)
    gamma = np.where(rng.random(steps) < 0.1, 0.0, 0.9)
    gamma[0] = cumulant[0] = 0.0
    return obs, cumulant, gamma


def _frozen_random_learner(cls=ColumnNetworkLearner, seed=3, **hp):
    """A learner with large random weights (incl. output weights) and learning switched off."""
    learner = cls(3, seed=seed, init_scale=0.8, **hp)
    learner._arrays.out_w[:] = np.random.default_rng(seed + 100).normal(size=learner._arrays.out_w.shape)
    learner._arrays.alpha[:] = 0.0  # the step sizes of the columns and of the output layer
    return learner


# --------------------------------------------------------------------------- exact gradients

GRADIENT_CASES = {
    "ccn": dict(n_features=6, features_per_stage=2, steps_per_stage=12, norm_beta=0.9, norm_eps=1e-3),
    "constructive": dict(cls=ConstructiveLearner, n_features=3, steps_per_stage=12, norm_beta=0.8, norm_eps=1e-3),
    "columnar": dict(cls=ColumnarLearner, n_features=3, norm_beta=0.9, norm_eps=1e-3),
    "floored-var": dict(n_features=4, features_per_stage=2, steps_per_stage=15, norm_beta=0.7, norm_eps=0.3,
                        norm_floor="var"),
    "floored-std": dict(n_features=4, features_per_stage=2, steps_per_stage=15, norm_beta=0.7, norm_eps=0.5),
}


@pytest.mark.parametrize("case", sorted(GRADIENT_CASES))
@pytest.mark.parametrize("normalisation_gradient", ["stop", "exact"])
def test_gradient_matches_finite_differences_of_the_unrolled_network(case, normalisation_gradient):
    """"exact": d y_t / d theta of the network as computed. "stop": the same with the output
    statistics replaced by the values recorded from the unperturbed run (a stop-gradient)."""
    hp = dict(GRADIENT_CASES[case])
    cls = hp.pop("cls", ColumnNetworkLearner)
    learner = _frozen_random_learner(cls, normalisation_gradient=normalisation_gradient, **hp)
    obs, cumulant, gamma = _random_stream(3, 36, seed=5)
    theta0, out0 = learner.parameters()["columns"], learner.parameters()["output"]
    grads, stages, predictions = [], [], []
    for t in range(len(obs)):
        predictions.append(learner.step(obs[t], cumulant[t], gamma[t]))
        grads.append(learner.prediction_gradient())
        stages.append(learner.stage)
    after = learner.parameters()
    np.testing.assert_array_equal(after["columns"], theta0)  # learning really was off
    np.testing.assert_array_equal(after["output"], out0)

    cfg = learner.hyperparameters()
    args = (obs, 3, cfg["features_per_stage"], cfg["n_features"] // cfg["features_per_stage"], cfg["steps_per_stage"],
            cfg["norm_beta"], cfg["norm_eps"], cfg["norm_floor"])
    recorded = []
    np.testing.assert_allclose(reference_predictions(theta0, out0, *args, record=recorded), predictions, rtol=1e-12,
                               atol=1e-12)
    replay = recorded if normalisation_gradient == "stop" else None
    step = 1e-6

    def derivative(which, index):
        theta, out = theta0.copy(), out0.copy()
        target = theta if which == "columns" else out
        target[index] += step
        up = reference_predictions(theta, out, *args, out_stats=replay)
        target[index] -= 2 * step
        down = reference_predictions(theta, out, *args, out_stats=replay)
        return (up - down) / (2 * step)

    checked = 0
    for stage in sorted(set(stages)):
        steps = [t for t in range(len(obs)) if stages[t] == stage]
        block = learner.stage_slice(stage)
        n_out = len(grads[steps[0]]["output"])
        fd_cols = np.array([derivative("columns", block.start + p) for p in range(block.stop - block.start)]).T
        fd_out = np.array([derivative("output", p) for p in range(n_out)]).T
        for t in steps:
            for name, fd in (("columns", fd_cols[t]), ("output", fd_out[t])):
                err = np.linalg.norm(grads[t][name] - fd) / max(np.linalg.norm(fd), 1e-12)
                assert err <= 1e-6, f"{case}, {normalisation_gradient}: d y_{t} / d {name} (stage {stage}) off by " \
                                    f"relative {err:.2e}"
                checked += 1
    assert checked >= len(obs)


def test_forward_matches_the_reference_network():
    learner = _frozen_random_learner(n_features=6, features_per_stage=2, steps_per_stage=10, norm_beta=0.9,
                                     norm_eps=1e-3)
    obs, cumulant, gamma = _random_stream(3, 40, seed=8)
    theta, out = learner.parameters()["columns"], learner.parameters()["output"]
    predictions = learner.run_chunk(obs, cumulant, gamma)
    expected = reference_predictions(theta, out, obs, 3, 2, 3, 10, 0.9, 1e-3, "std")
    np.testing.assert_allclose(predictions, expected, rtol=1e-12, atol=1e-12)
    assert np.abs(predictions).max() > 1e-3


# --------------------------------------------------------------------------- staging


def test_frozen_columns_never_change_after_their_stage():
    learner = CCNLearner(3, seed=1, alpha=0.05, n_features=6, features_per_stage=2, steps_per_stage=300,
                         norm_beta=0.99)
    obs, cumulant, gamma = _random_stream(3, 900, seed=2)
    snapshots = []
    for start in range(0, 900, 300):
        learner.run_chunk(obs[start:start + 300], cumulant[start:start + 300], gamma[start:start + 300])
        snapshots.append(learner.parameters()["columns"])
    initial = CCNLearner(3, seed=1, n_features=6, features_per_stage=2).parameters()["columns"]
    for stage in range(3):
        block = learner.stage_slice(stage)
        assert not np.array_equal(snapshots[stage][block], initial[block]), f"stage {stage} never learned"
        for later in snapshots[stage:]:
            np.testing.assert_array_equal(later[block], snapshots[stage][block])
        for earlier in snapshots[:stage]:  # not touched before its stage either
            np.testing.assert_array_equal(earlier[block], initial[block])


def test_a_later_feature_never_influences_an_earlier_one():
    obs, cumulant, gamma = _random_stream(3, 90, seed=4)
    runs = []
    for perturb in (False, True):
        learner = CCNLearner(3, seed=0, alpha=0.05, n_features=6, features_per_stage=2, steps_per_stage=30,
                             norm_beta=0.9)
        if perturb:
            state = learner.get_state()
            state["arrays"]["theta"][learner.stage_slice(2)] += 0.5
            learner.set_state(state)
        features = []
        for t in range(len(obs)):
            learner.step(obs[t], cumulant[t], gamma[t])
            features.append(learner.features())
        runs.append(np.array(features))
    np.testing.assert_array_equal(runs[0][:, :4], runs[1][:, :4])
    assert not np.array_equal(runs[0][:, 4:], runs[1][:, 4:])


# --------------------------------------------------------------------------- TD(lambda)


def test_lambda_zero_gives_the_hand_computed_td0_update():
    alpha = 0.01
    learner = CCNLearner(3, seed=0, alpha=alpha, lam=0.0, optimizer="sgd", n_features=4, features_per_stage=2,
                         steps_per_stage=20)
    learner._arrays.out_w[:] = np.random.default_rng(0).normal(size=5)
    obs, cumulant, gamma = _random_stream(3, 40, seed=1)
    y_prev = learner.step(obs[0])
    for t in range(1, 40):
        params, grad, stage = learner.parameters(), learner.prediction_gradient(), learner.stage
        y = learner.step(obs[t], cumulant[t], gamma[t])
        if learner.stage != stage:  # a new stage: the old columns freeze, their trace is dropped
            y_prev = y
            continue
        delta = cumulant[t] + gamma[t] * y - y_prev
        after = learner.parameters()
        block = learner.stage_slice(stage)
        np.testing.assert_allclose(after["columns"][block] - params["columns"][block], alpha * delta * grad["columns"],
                                   rtol=1e-9, atol=1e-15)
        n_out = len(grad["output"])
        np.testing.assert_allclose(after["output"][:n_out] - params["output"][:n_out], alpha * delta * grad["output"],
                                   rtol=1e-9, atol=1e-15)
        assert grad["output"][0] == 1.0  # d y / d b
        y_prev = y


def test_trace_decays_by_gamma_lambda_and_restarts_at_gamma_zero():
    lam = 0.7
    learner = CCNLearner(3, seed=0, lam=lam, n_features=2, features_per_stage=2)
    obs, cumulant, gamma = _random_stream(3, 60, seed=3)
    assert (gamma[1:] == 0).any()
    learner.step(obs[0])
    for t in range(1, 60):
        e_out, e_col = learner._arrays.e_o.copy(), learner._arrays.e_c.copy()
        learner.step(obs[t], cumulant[t], gamma[t])
        grad = learner.prediction_gradient()
        n_out, n_col = len(grad["output"]), len(grad["columns"])
        np.testing.assert_allclose(learner._arrays.e_o[:n_out], lam * gamma[t] * e_out[:n_out] + grad["output"],
                                   rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(learner._arrays.e_c[:n_col], lam * gamma[t] * e_col[:n_col] + grad["columns"],
                                   rtol=1e-12, atol=1e-15)
        if gamma[t] == 0:
            np.testing.assert_array_equal(learner._arrays.e_o[:n_out], grad["output"])


# --------------------------------------------------------------------------- API contracts

SMALL = {
    "columnar": dict(n_features=3),
    "constructive": dict(n_features=3, steps_per_stage=100),
    "ccn": dict(n_features=6, features_per_stage=2, steps_per_stage=100),
}


@pytest.mark.parametrize("name", sorted(SMALL))
@pytest.mark.parametrize("optimizer, normalisation_gradient", [("sgd", "stop"), ("rmsprop", "stop"), ("sgd", "exact"),
                                                               ("rmsprop", "exact")])
def test_per_step_equals_chunked(name, optimizer, normalisation_gradient):
    obs, cumulant, gamma = _random_stream(4, 350, seed=6)
    hp = dict(SMALL[name], alpha=0.01, optimizer=optimizer, norm_beta=0.99, normalisation_gradient=normalisation_gradient)
    per_step = make_learner(name, 4, seed=2, **hp)
    expected = [per_step.step(obs[t], cumulant[t], gamma[t]) for t in range(len(obs))]
    chunked = make_learner(name, 4, seed=2, **hp)
    got, start = [], 0
    for size in (1, 57, 100, 192):
        got.extend(chunked.run_chunk(obs[start:start + size], cumulant[start:start + size], gamma[start:start + size]))
        start += size
    np.testing.assert_array_equal(got, expected)
    assert np.abs(expected).max() > 0  # it learned something


@pytest.mark.parametrize("name", sorted(SMALL))
def test_checkpoint_round_trip_continues_exactly(name):
    obs, cumulant, gamma = _random_stream(4, 400, seed=7)
    hp = dict(SMALL[name], alpha=0.01, optimizer="rmsprop")
    learner = make_learner(name, 4, seed=1, **hp)
    learner.run_chunk(obs[:150], cumulant[:150], gamma[:150])
    state = copy.deepcopy(learner.get_state())
    expected = learner.run_chunk(obs[150:], cumulant[150:], gamma[150:])
    restored = make_learner(name, 4, seed=99, **learner.hyperparameters())
    restored.set_state(state)
    np.testing.assert_array_equal(restored.run_chunk(obs[150:], cumulant[150:], gamma[150:]), expected)
    with pytest.raises(ValueError, match="other hyperparameters"):
        make_learner(name, 4, **dict(hp, alpha=0.02)).set_state(state)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_seeded_determinism(name):
    obs, cumulant, gamma = _random_stream(4, 300, seed=9)
    runs = [make_learner(name, 4, seed=s, alpha=0.01, **SMALL[name]).run_chunk(obs, cumulant, gamma) for s in (5, 5, 6)]
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


def test_hyperparameters_rebuild_the_learner_and_defaults_follow_table_1():
    assert ColumnarLearner(12).hyperparameters()["n_features"] == 5
    constructive = ConstructiveLearner(12).hyperparameters()
    assert (constructive["n_features"], constructive["features_per_stage"], constructive["steps_per_stage"]) == (
        10, 1, 5_000_000)
    ccn = CCNLearner(12).hyperparameters()
    assert (ccn["n_features"], ccn["features_per_stage"], ccn["steps_per_stage"]) == (20, 4, 10_000_000)
    assert (ccn["lam"], ccn["norm_beta"], ccn["optimizer"], ccn["alpha"]) == (0.99, 0.99999, "rmsprop", 1e-4)
    assert ccn["normalisation_gradient"] == "stop"
    for name in SMALL:
        learner = make_learner(name, 4, seed=0, **SMALL[name])
        assert make_learner(name, 4, seed=0, **learner.hyperparameters()).hyperparameters() == learner.hyperparameters()


@pytest.mark.parametrize("bad, match", [
    (dict(alpha=-1e-3), "alpha"), (dict(alpha=float("nan")), "alpha"),
    (dict(lam=1.5), "lam"), (dict(lam=-0.1), "lam"),
    (dict(features_per_stage=0), "features_per_stage"), (dict(n_features=0), "n_features"),
    (dict(n_features=10, features_per_stage=4), "multiple"), (dict(steps_per_stage=0), "steps_per_stage"),
    (dict(norm_beta=1.0), "norm_beta"), (dict(norm_eps=0.0), "norm_eps"), (dict(norm_floor="max"), "norm_floor"),
    (dict(optimizer="adam"), "optimizer"), (dict(init_scale=0.0), "init_scale"),
    (dict(output_step_size="tiny"), "output_step_size"), (dict(seed=-1), "seed"),
    (dict(normalisation_gradient="none"), "normalisation_gradient"),
])
def test_bad_hyperparameters_raise(bad, match):
    with pytest.raises(ValueError, match=match):
        CCNLearner(4, **bad)


def test_family_constraints_and_input_size_checks():
    with pytest.raises(ValueError, match="one stage"):
        ColumnarLearner(4, n_features=5, features_per_stage=1)
    with pytest.raises(ValueError, match="one feature per stage"):
        ConstructiveLearner(4, features_per_stage=2)
    with pytest.raises(ValueError, match="n_inputs"):
        CCNLearner(0)
    learner = CCNLearner(4, n_features=2, features_per_stage=1)
    with pytest.raises(ValueError, match="shape"):
        learner.predict(np.zeros(5))
    with pytest.raises(ValueError, match="shape"):
        learner.run_chunk(np.zeros((3, 5), np.float32), np.zeros(3), np.zeros(3))


def test_released_output_step_size_scales_with_the_stage():
    learner = CCNLearner(3, alpha=0.1, n_features=4, features_per_stage=2, steps_per_stage=5,
                         output_step_size="released")
    obs, cumulant, gamma = _random_stream(3, 8, seed=0)
    learner.run_chunk(obs[:5], cumulant[:5], gamma[:5])
    assert np.allclose(learner._arrays.alpha, [0.1, 0.1 / 2])  # columns, output layer
    learner.run_chunk(obs[5:], cumulant[5:], gamma[5:])
    assert np.allclose(learner._arrays.alpha, [0.1, 0.1 / 4])


# --------------------------------------------------------------------------- learning


def test_constructive_learns_trace_patterning_well_below_the_zero_predictor():
    from rtrlbench.run import run

    steps = 300_000
    hp = dict(n_features=2, steps_per_stage=steps // 2, optimizer="rmsprop", alpha=3e-4, norm_beta=0.9999,
              normalisation_gradient="exact")
    learned = run("TracePatterning-v0", "constructive", steps, seed=0, hyperparameters=hp, progress=False)
    zero = run("TracePatterning-v0", "zero", steps, seed=0, progress=False)
    assert learned["final_msre"] < 0.7 * zero["final_msre"], (learned["final_msre"], zero["final_msre"])


def test_default_columnar_learns_trace_patterning_within_a_million_steps():
    """The defaults (RMSProp, alpha 1e-4, stop-gradient statistics) learn; plain SGD at 1e-3 did not."""
    from rtrlbench.run import run

    steps = 1_000_000
    learned = run("TracePatterning-v0", "columnar", steps, seed=0, progress=False)
    zero = run("TracePatterning-v0", "zero", steps, seed=0, progress=False)
    assert learned["final_msre"] < 0.4 * zero["final_msre"], (learned["final_msre"], zero["final_msre"])
