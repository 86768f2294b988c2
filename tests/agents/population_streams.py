"""Streams for the population tests: several synthetic prediction streams with episode ends inside,
and a chunker that cuts them at given step boundaries."""
import numpy as np


def synthetic_streams(n_streams: int, steps: int, n_inputs: int, *, p_cumulant: float = 0.1, p_end: float = 0.02,
                      discount: float = 0.9, seed: int = 42, dtype=np.float32):
    """obs [S, T, n_inputs] of ``dtype``; cumulant (Bernoulli ``p_cumulant``) and gamma (``discount``,
    0 with probability ``p_end`` and at step 0) float64[S, T]."""
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(n_streams, steps, n_inputs)).astype(dtype)
    cumulant = (rng.random((n_streams, steps)) < p_cumulant).astype(np.float64)
    gamma = np.where(rng.random((n_streams, steps)) < p_end, 0.0, discount)
    gamma[:, 0] = 0.0
    cumulant[:, 0] = 0.0
    return obs, cumulant, gamma


def chunked(obs, cumulant, gamma, bounds):
    """(obs, cumulant, gamma) of steps bounds[i]..bounds[i+1], for streams [S, T, n] or one stream [T, n]."""
    for start, stop in zip(bounds[:-1], bounds[1:]):
        yield obs[..., start:stop, :], cumulant[..., start:stop], gamma[..., start:stop]


def single_run(learner_class, n_inputs, hp, seed, obs, cumulant, gamma, bounds):
    """A fresh single-run learner run over one stream [T, n] in the chunks ``bounds``: (learner, predictions [T])."""
    learner = learner_class(n_inputs, seed=seed, **hp)
    return learner, np.concatenate([learner.run_chunk(o, c, g) for o, c, g in chunked(obs, cumulant, gamma, bounds)])


def population_run(population_class, learner_class, n_inputs, hps, seeds, obs, cumulant, gamma, bounds):
    """A fresh population, run r with seed ``seeds[r]`` reading stream ``seeds[r]`` of [S, T, n], in the
    chunks ``bounds``: (population, predictions [R, T])."""
    population = population_class.build(learner_class, n_inputs, seeds, hps)
    predictions = np.concatenate([population.run_chunk(o, c, g, stream_of=seeds)
                                  for o, c, g in chunked(obs, cumulant, gamma, bounds)], axis=1)
    return population, predictions


def assert_runs_bit_identical(population, predictions, singles, skip=()):
    """Each run's predictions and state arrays (but ``skip``) equal (np.array_equal) those of its
    single-run learner; ``singles``: [(learner, predictions [T])] per run."""
    for run, (learner, expected) in enumerate(singles):
        difference = np.abs(predictions[run] - expected).max()
        assert np.array_equal(predictions[run], expected), f"run {run}: max diff {difference}"
        mine = population._state_of(population.learner(run))._asdict()
        for key, value in population._state_of(learner)._asdict().items():
            assert key in skip or np.array_equal(mine[key], value), (run, key)
    assert not population.diverged.any()
    assert np.isfinite(predictions).all() and np.ptp(predictions[0]) > 0  # the runs learn something


def assert_population_matches_single_runs(population_class, learner_class, n_inputs, hps, seeds, bounds, *,
                                          cumulant_scale=1.0, **stream_kwargs):
    """Runs ``hps`` (run r with seed and stream ``seeds[r]``) as a population and one by one over
    ``bounds[-1]`` steps of synthetic streams cut at ``bounds``: every run bit-identical
    (:func:`assert_runs_bit_identical`). Returns the population."""
    obs, cumulant, gamma = synthetic_streams(max(seeds) + 1, bounds[-1], n_inputs, **stream_kwargs)
    cumulant *= cumulant_scale
    population, predictions = population_run(population_class, learner_class, n_inputs, hps, seeds, obs, cumulant,
                                             gamma, bounds)
    assert predictions.shape == (len(seeds), bounds[-1]) and population.steps_done == bounds[-1]
    singles = [single_run(learner_class, n_inputs, hp, seed, obs[seed], cumulant[seed], gamma[seed], bounds)
               for seed, hp in zip(seeds, hps)]
    assert_runs_bit_identical(population, predictions, singles)
    return population
