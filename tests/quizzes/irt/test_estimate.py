"""Ability estimation: EAP against brute-force integration, incremental updates, MAP, WLE."""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.optimize import brentq

from quizzes.irt.estimate import (
    Posterior,
    eap,
    log_likelihood,
    map_estimate,
    total_information,
    wle,
    wle_score,
)
from quizzes.irt.model import ItemParams, probability


def brute_force_eap(params, responses):
    """Posterior mean and SD by adaptive quadrature on [−12, 12] (the mass beyond is < 1e-30)."""

    def density(t):
        return math.exp(log_likelihood(t, params, responses) - t * t / 2)

    mass = quad(density, -12, 12, epsabs=1e-13)[0]
    mean = quad(lambda t: t * density(t), -12, 12, epsabs=1e-13)[0] / mass
    second = quad(lambda t: t * t * density(t), -12, 12, epsabs=1e-13)[0] / mass
    return mean, math.sqrt(second - mean * mean)


item = st.tuples(st.floats(0.4, 2.0), st.floats(-2.0, 2.0), st.sampled_from([0.0, 0.2]))


@settings(max_examples=25, deadline=None)
@given(items=st.lists(item, min_size=0, max_size=6), data=st.data())
def test_eap_matches_brute_force_integration(items, data):
    responses = data.draw(st.lists(st.booleans(), min_size=len(items), max_size=len(items)))
    columns = np.array(items, dtype=float).reshape(-1, 3)
    params = ItemParams.of(columns[:, 0], columns[:, 1], columns[:, 2])
    theta, sd = eap(params, responses)
    expected_theta, expected_sd = brute_force_eap(params, responses)
    assert abs(theta - expected_theta) < 2e-3
    assert abs(sd - expected_sd) < 2e-3


def test_incremental_posterior_equals_the_batch_estimate():
    rng = np.random.default_rng(3)
    params = ItemParams.of(rng.uniform(0.5, 2, 25), rng.normal(0, 1, 25), rng.uniform(0, 0.25, 25))
    responses = rng.random(25) < 0.6
    posterior = Posterior()
    for n in range(25):
        posterior.add(params.a[n], params.b[n], params.c[n], bool(responses[n]))
    assert np.allclose(posterior.eap(), eap(params, responses), atol=1e-10)


def test_eap_moves_toward_the_answers_and_narrows():
    params = ItemParams.of([1.5] * 3, [0.0] * 3)
    up, sd_up = eap(params, [True, True, True])
    down, _ = eap(params, [False, False, False])
    assert up > 0.5 and down < -0.5 and sd_up < 1.0


def test_map_is_the_posterior_mode():
    params = ItemParams.of([1.0, 1.5, 0.8, 1.2], [-0.5, 0.3, 1.0, 0.0])
    responses = [True, False, True, True]
    theta, se = map_estimate(params, responses)
    grid = np.linspace(-4, 4, 80001)
    log_post = [log_likelihood(t, params, responses) - t * t / 2 for t in grid[::100]]
    assert abs(theta - grid[::100][int(np.argmax(log_post))]) < 0.011
    assert np.isclose(se, 1 / math.sqrt(total_information(theta, params) + 1))


def test_wle_solves_warms_equation_and_for_1pl_matches_the_closed_form():
    b = np.array([-1.0, -0.2, 0.4, 1.1, 0.0])
    params = ItemParams.of(np.ones(5), b)
    responses = [True, True, False, True, False]
    theta, se = wle(params, responses)
    assert abs(wle_score(theta, params, responses)) < 1e-6

    # 1PL: score r − ΣP, J/2I = Σ PQ(1 − 2P) / (2 Σ PQ)
    def warm(t):
        p = probability(t, 1.0, b)
        return (
            sum(responses) - p.sum() + np.sum(p * (1 - p) * (1 - 2 * p)) / (2 * np.sum(p * (1 - p)))
        )

    assert np.isclose(theta, brentq(warm, -6, 6), atol=1e-6)
    assert np.isclose(se, 1 / math.sqrt(total_information(theta, params)))


def test_wle_is_finite_for_a_perfect_2pl_score_and_less_biased_than_mle_start():
    params = ItemParams.of([1.2] * 8, np.linspace(-1, 1, 8))
    theta, se = wle(params, [True] * 8)
    assert 1.0 < theta < 6.0 and math.isfinite(se)


def test_wle_recovers_theta_on_a_long_test():
    rng = np.random.default_rng(7)
    params = ItemParams.of(rng.uniform(0.8, 2, 400), rng.normal(0.5, 1, 400))
    responses = rng.random(400) < probability(0.5, params.a, params.b)
    theta, se = wle(params, responses)
    assert abs(theta - 0.5) < 3 * se and se < 0.12
