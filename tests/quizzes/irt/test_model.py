"""Item response models: probabilities and Fisher information."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from quizzes.irt.model import ItemParams, information, prior_params, probability

thetas = st.floats(-3.5, 3.5)
a_values = st.floats(0.3, 2.5)
b_values = st.floats(-2.5, 2.5)
c_values = st.floats(0.0, 0.35)


def numerical_information(theta, a, b, c, h=1e-5):
    """P′(θ)² / (P Q), with P′ by central differences."""
    p = probability(theta, a, b, c)
    slope = (probability(theta + h, a, b, c) - probability(theta - h, a, b, c)) / (2 * h)
    return slope**2 / (p * (1 - p))


@settings(max_examples=60, deadline=None)
@given(theta=thetas, b=b_values)
def test_1pl_information_matches_the_numerical_derivative(theta, b):
    assert np.isclose(
        information(theta, 1.0, b), numerical_information(theta, 1.0, b, 0.0), rtol=1e-5
    )


@settings(max_examples=60, deadline=None)
@given(theta=thetas, a=a_values, b=b_values)
def test_2pl_information_matches_the_numerical_derivative(theta, a, b):
    assert np.isclose(information(theta, a, b), numerical_information(theta, a, b, 0.0), rtol=1e-5)


@settings(max_examples=60, deadline=None)
@given(theta=thetas, a=a_values, b=b_values, c=c_values)
def test_3pl_information_matches_the_numerical_derivative(theta, a, b, c):
    expected = numerical_information(theta, a, b, c)
    assert np.isclose(information(theta, a, b, c), expected, rtol=1e-5, atol=1e-12)


def test_2pl_information_peaks_at_b_with_a_squared_over_four():
    grid = np.linspace(-3, 3, 6001)
    info = information(grid, 1.6, 0.7)
    assert abs(grid[np.argmax(info)] - 0.7) < 1e-3
    assert np.isclose(info.max(), 1.6**2 / 4)


def test_probability_is_c_plus_the_logistic_share():
    assert np.isclose(probability(0.5, 1.2, 0.5, 0.2), 0.2 + 0.8 * 0.5)
    assert probability(-50, 1.0, 0.0) > 0 and probability(50, 1.0, 0.0) < 1


def test_uncalibrated_items_get_their_label_prior():
    params = prior_params(["easy", "hard", "unknown"])
    assert isinstance(params, ItemParams)
    assert list(params.b) == [-1.0, 1.0, 0.0]
    assert list(params.a) == [1.0, 1.0, 1.0] and not params.c.any()
