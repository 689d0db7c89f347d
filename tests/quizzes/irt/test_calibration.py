"""Item calibration: MML by EM recovers simulated parameters; anchors, linking, drift, input."""

from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from quizzes.irt import calibration
from quizzes.irt.calibration import (
    Priors,
    calibrate,
    drift_flags,
    link_params,
    linking_constants,
    marginal_loglik,
    priors_from_labels,
    responses_from_arrays,
)
from quizzes.irt.model import ItemParams

ROOT = Path(__file__).resolve().parents[3]


def simulate(persons, items, seed, *, c=None, mean=0.0, sd=1.0):
    """A 2PL (or 3PL with c ~ U(c)) bank with a wide spread of a, answered by everyone."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.6, 2.2, items)
    b = rng.uniform(-2.0, 2.0, items)
    guess = np.zeros(items) if c is None else rng.uniform(*c, items)
    theta = rng.normal(mean, sd, persons)
    p = guess + (1 - guess) / (1 + np.exp(-a * (theta[:, None] - b)))
    return ItemParams.of(a, b, guess), rng.random((persons, items)) < p, rng


def rmse(estimate, truth):
    return float(np.sqrt(np.mean((np.asarray(estimate) - truth) ** 2)))


def as_arrays(matrix):
    persons, items = np.indices(matrix.shape).reshape(2, -1)
    return persons, items, matrix.reshape(-1)


def test_2pl_recovers_known_parameters():
    truth, answers, _rng = simulate(2000, 20, seed=1)
    result = calibrate(as_arrays(answers))
    assert result.converged and result.iterations < 100
    assert np.corrcoef(result.a, truth.a)[0, 1] > 0.93
    assert rmse(result.a, truth.a) < 0.16
    assert rmse(result.b, truth.b) < 0.13
    assert np.all(result.c == 0)


def test_estimates_fit_at_least_as_well_as_the_generating_parameters():
    truth, answers, _rng = simulate(2000, 20, seed=2)
    result = calibrate(answers)
    assert result.loglik >= marginal_loglik(answers, truth) - 1.0


def test_standard_errors_are_the_size_of_the_actual_errors():
    truth, answers, _rng = simulate(2000, 20, seed=3)
    result = calibrate(answers)
    ratio_a = rmse(result.a, truth.a) / np.sqrt(np.mean(result.se_a**2))
    ratio_b = rmse(result.b, truth.b) / np.sqrt(np.mean(result.se_b**2))
    assert 0.6 < ratio_a < 1.6 and 0.6 < ratio_b < 1.6
    assert np.all(np.isnan(result.se_c))


def test_sparse_data_where_each_person_sees_half_the_items_still_recovers():
    truth, answers, rng = simulate(2000, 20, seed=4)
    persons, items, correct = as_arrays(answers)
    seen = rng.random(persons.shape[0]) < 0.5
    result = calibrate((persons[seen], items[seen], correct[seen]))
    assert result.converged
    assert np.corrcoef(result.a, truth.a)[0, 1] > 0.88
    assert rmse(result.a, truth.a) < 0.22
    assert rmse(result.b, truth.b) < 0.16
    assert np.all(result.n_answers < 2000)


def test_dense_and_sparse_storage_give_the_same_estimates(monkeypatch):
    _truth, answers, rng = simulate(600, 12, seed=5)
    persons, items, correct = as_arrays(answers)
    seen = rng.random(persons.shape[0]) < 0.6
    data = (persons[seen], items[seen], correct[seen])
    dense = calibrate(data, tol=1e-6)
    monkeypatch.setattr(calibration, "DENSE_ABOVE", 2.0)  # never dense: scipy CSR
    csr = calibrate(data, tol=1e-6)
    assert np.allclose(dense.a, csr.a, atol=2e-4) and np.allclose(dense.b, csr.b, atol=2e-4)
    assert np.allclose(dense.se_b, csr.se_b, rtol=1e-3)


def test_a_sparse_matrix_with_explicit_zeros_is_read_as_wrong_answers():
    _truth, answers, rng = simulate(400, 10, seed=6)
    persons, items, correct = as_arrays(answers)
    seen = rng.random(persons.shape[0]) < 0.5
    matrix = sparse.csr_matrix(
        (correct[seen].astype(float), (persons[seen], items[seen])), shape=answers.shape
    )
    from_matrix = calibrate(matrix)
    from_arrays = calibrate((persons[seen], items[seen], correct[seen]))
    assert from_matrix.n_answers.sum() == seen.sum()
    assert np.allclose(from_matrix.b, from_arrays.b) and np.allclose(from_matrix.a, from_arrays.a)


def test_3pl_with_priors_recovers_c_roughly_and_keeps_it_below_one_half():
    rng = np.random.default_rng(7)
    a, b, c = rng.uniform(0.8, 2.2, 30), rng.uniform(-1.5, 2.0, 30), rng.uniform(0.05, 0.35, 30)
    theta = rng.normal(0, 1, 4000)
    answers = rng.random((4000, 30)) < c + (1 - c) / (1 + np.exp(-a * (theta[:, None] - b)))
    result = calibrate(answers, model="3pl")
    assert result.converged
    assert np.all((result.c > 0) & (result.c < 0.5))
    assert rmse(result.c, c) < 0.07
    assert rmse(result.c, c) < 0.8 * rmse(0.2, c)  # clearly better than the prior's mode
    assert np.corrcoef(result.c, c)[0, 1] > 0.6
    assert np.corrcoef(result.a, a)[0, 1] > 0.8 and rmse(result.b, b) < 0.2
    assert np.all(np.isfinite(result.se_c))
    assert result.loglik > calibrate(answers).loglik + 50  # the 3PL fits guessed data better


def test_fixed_anchors_stay_fixed_and_put_new_items_on_their_scale():
    # The new population is abler and more spread out (θ ~ N(0.8, 1.2²)).
    truth, answers, _rng = simulate(3000, 30, seed=8, mean=0.8, sd=1.2)
    anchors = {i: (truth.a[i], truth.b[i]) for i in range(10)}
    anchored = calibrate(answers, anchors=anchors)
    assert np.array_equal(anchored.a[:10], truth.a[:10])
    assert np.array_equal(anchored.b[:10], truth.b[:10])
    assert np.all(np.isnan(anchored.se_b[:10]))
    assert abs(np.mean(anchored.b[10:] - truth.b[10:])) < 0.1
    assert rmse(anchored.b[10:], truth.b[10:]) < 0.15
    assert abs(anchored.population_mean - 0.8) < 0.15
    assert abs(anchored.population_sd - 1.2) < 0.1
    # Without anchors the scale is the new population's own: every b is shifted.
    alone = calibrate(answers)
    assert np.mean(alone.b[10:] - truth.b[10:]) < -0.4


@pytest.mark.parametrize("model", ["2pl", "3pl"])
def test_starting_from_the_previous_estimates_reaches_the_same_estimates_sooner(model):
    _truth, answers, _rng = simulate(1500, 15, seed=11, c=(0.1, 0.25) if model == "3pl" else None)
    cold = calibrate(answers, model=model)
    warm = calibrate(answers, model=model, start=cold.params)
    assert warm.converged and warm.iterations < cold.iterations
    assert np.allclose(warm.a, cold.a, atol=0.01) and np.allclose(warm.b, cold.b, atol=0.01)
    assert np.allclose(warm.c, cold.c, atol=0.01)
    with pytest.raises(ValueError, match="start has 15 items, the data 14"):
        calibrate(answers[:, :14], model=model, start=cold.params)


def test_linking_constants_recover_a_known_transformation():
    rng = np.random.default_rng(9)
    reference = ItemParams.of(rng.uniform(0.6, 2, 12), rng.normal(0, 1, 12), 0.15)
    slope, shift = 1.3, -0.4  # θ_reference = 1.3 θ_other − 0.4
    other = link_params(reference, 1 / slope, -shift / slope)
    for method in ("mean_sigma", "mean_mean", "stocking_lord"):
        found = linking_constants(reference, other, method=method)
        assert np.allclose(found, (slope, shift), atol=1e-4), method
    linked = link_params(other, slope, shift)
    assert np.allclose(linked.a, reference.a) and np.allclose(linked.b, reference.b)


def test_separate_calibrations_are_linked_through_common_items():
    truth, answers, _rng = simulate(3000, 20, seed=10, mean=0.8, sd=1.2)
    new = calibrate(answers)  # on the new population's scale
    common = np.arange(8)
    slope, shift = linking_constants(
        truth.take(common), new.params.take(common), method="stocking_lord"
    )
    linked = link_params(new.params, slope, shift)
    assert abs(slope - 1.2) < 0.15 and abs(shift - 0.8) < 0.15
    assert rmse(linked.b[8:], truth.b[8:]) < 0.2


def test_drift_flags_a_moved_item_and_not_a_stable_one():
    stored = ItemParams.of([1.0, 1.2, 0.9, 1.1], [0.0, 0.5, -1.0, 1.0], [0.2, 0.2, 0.2, 0.2])
    new = ItemParams.of([1.05, 1.2, 2.0, 1.1], [0.1, -0.4, -1.0, 1.0], [0.2, 0.2, 0.2, 0.45])
    flags = {flag.item: flag.reasons for flag in drift_flags(stored, new)}
    assert set(flags) == {1, 2, 3}
    assert flags[1][0].startswith("b moved -0.90")
    assert flags[2][0].startswith("a changed ×2.22")
    assert flags[3][0].startswith("c moved +0.25")


def test_drift_within_the_noise_of_a_small_sample_is_not_flagged():
    stored = ItemParams.of([1.0, 1.0], [0.0, 0.0])
    new = ItemParams.of([1.0, 1.0], [0.7, 0.7])
    flagged = drift_flags(stored, new, se_b=[0.5, 0.05], k_se=2.0)
    assert [flag.item for flag in flagged] == [1]


def test_an_item_nobody_answered_keeps_its_prior_and_a_person_with_no_answers_is_ignored():
    _truth, answers, _rng = simulate(500, 6, seed=11)
    persons, items, correct = as_arrays(answers)
    persons = persons + 1  # person 0 answered nothing
    priors = priors_from_labels(["medium"] * 6 + ["hard"])
    data = responses_from_arrays(persons, items, correct, n_items=7)
    result = calibrate(data, priors=priors)
    assert result.n_persons == 500
    assert result.n_answers[6] == 0
    assert abs(result.b[6] - 1.0) < 1e-6 and abs(result.a[6] - 1.0) < 1e-6
    assert np.isnan(result.se_b[6])


def test_progress_is_reported_every_iteration():
    _truth, answers, _rng = simulate(300, 8, seed=12)
    calls = []
    result = calibrate(answers, progress=lambda *args: calls.append(args))
    assert [call[0] for call in calls] == list(range(1, result.iterations + 1))
    assert calls[-1][1] < 1e-4


@pytest.mark.parametrize(
    ("persons", "items", "correct", "message"),
    [
        ([0, 1, 2], [0, 1], [1, 0, 1], "same length"),
        ([], [], [], "no responses"),
        ([0, 1], [0, -1], [1, 0], "item index -1 is negative"),
        ([0, 0], [1, 1], [1, 0], "answered item 1 more than once"),
        ([0, 1], [0, 1], [1, 2], "0/1"),
        ([0.5, 1], [0, 1], [1, 0], "integer indices"),
    ],
)
def test_bad_input_raises_a_clear_value_error(persons, items, correct, message):
    with pytest.raises(ValueError, match=message):
        calibrate((np.array(persons), np.array(items), np.array(correct)))


def test_an_item_index_out_of_range_raises_a_clear_value_error():
    with pytest.raises(ValueError, match="item index 5 out of range for 3 items"):
        responses_from_arrays([0, 1], [0, 5], [1, 0], n_items=3)
    with pytest.raises(ValueError, match="anchor item 9 out of range"):
        calibrate(([0, 1], [0, 1], [1, 0]), anchors={9: (1.0, 0.0)})


def test_bad_options_raise_value_errors():
    data = ([0, 1, 1], [0, 0, 1], [1, 0, 1])
    with pytest.raises(ValueError, match="model must be one of"):
        calibrate(data, model="4pl")
    with pytest.raises(ValueError, match="needs anchor items"):
        calibrate(data, estimate_population=True)
    with pytest.raises(ValueError, match="positive"):
        calibrate(data, priors=Priors(b_sd=0.0))
    with pytest.raises(ValueError, match="at least two anchor items"):
        linking_constants(ItemParams.of([1.0], [0.0]), ItemParams.of([1.0], [0.0]))
