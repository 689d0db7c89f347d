"""Item selection: bank information, blueprint quotas, candidates, exposure control."""

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from quizzes.irt.estimate import Posterior
from quizzes.irt.model import ItemParams, information, probability
from quizzes.irt.select import (
    Bank,
    Blueprint,
    ItemEligibility,
    expected_posterior_variance,
    select_item,
)

SHARES = {"knowledge": 0.4, "method": 0.2, "spirit": 0.2, "application": 0.2}


def random_bank(size, seed=0, guessing=False):
    rng = np.random.default_rng(seed)
    c = rng.uniform(0, 0.25, size) if guessing else None
    params = ItemParams.of(rng.uniform(0.5, 2.0, size), rng.normal(0, 1, size), c)
    dims = rng.choice(list(SHARES), size=size, p=list(SHARES.values()))
    return Bank(params, list(dims))


def test_bank_information_is_the_model_information():
    for guessing in (False, True):
        bank = random_bank(50, guessing=guessing)
        expected = information(0.3, bank.a, bank.b, bank.c)
        assert np.allclose(bank.information(0.3), expected)


def test_uncalibrated_items_get_priors_from_their_labels():
    bank = Bank.build([1.4, None], [0.2, None], labels=["easy", "hard"], ids=[11, 12])
    assert list(bank.b) == [0.2, 1.0] and list(bank.a) == [1.4, 1.0]
    assert bank.position(12) == 1 and bank.item_id(0) == 11


def test_quotas_are_the_exact_shares_where_whole_and_tests_stop_only_there():
    blueprint = Blueprint.of(SHARES)
    assert list(blueprint.quotas(30)) == [12, 6, 6, 6]
    assert list(blueprint.quotas(15)) == [6, 3, 3, 3]
    assert blueprint.stop_lengths(15, 30) == (15, 20, 25, 30)
    assert blueprint.stop_lengths(12, 14) == (12, 13, 14)  # no whole split: every length


@settings(max_examples=200, deadline=None)
@given(shares=st.lists(st.integers(1, 9), min_size=2, max_size=5), n=st.integers(1, 40))
@example(shares=[1, 1, 1, 1, 6], n=17)  # Webster: 9 of 17 for a 60 % share (exact 10.2)
def test_quotas_add_up_and_never_shrink_as_the_test_grows(shares, n):
    blueprint = Blueprint.of({f"d{k}": v for k, v in enumerate(shares)})
    now, later = blueprint.quotas(n), blueprint.quotas(n + 1)
    assert now.sum() == n and later.sum() == n + 1
    assert np.all(later >= now)
    assert np.all(np.abs(now - np.asarray(blueprint.proportions) * n) < 1.0 + 1e-9)


def test_open_dimensions_are_those_below_the_next_stop_quota():
    blueprint = Blueprint.of(SHARES)
    stops = (15, 20)
    assert list(blueprint.open_dimensions(np.array([6, 3, 3, 2]), stops)) == [
        False,
        False,
        False,
        True,
    ]
    assert list(blueprint.open_dimensions(np.array([6, 3, 3, 3]), stops)) == [True] * 4
    assert not blueprint.open_dimensions(np.array([8, 4, 4, 4]), stops).any()


def test_select_takes_the_most_informative_candidate():
    bank = random_bank(200)
    candidates = np.ones(200, dtype=bool)
    best = int(np.argmax(bank.information(0.8)))
    assert select_item(bank, 0.8, candidates) == best
    candidates[best] = False
    second = select_item(bank, 0.8, candidates)
    assert second != best
    assert bank.information(0.8)[second] == np.sort(bank.information(0.8))[-2]
    assert select_item(bank, 0.8, np.zeros(200, dtype=bool)) == -1


def test_randomesque_picks_among_the_top_k_only():
    bank = random_bank(200)
    top = set(np.argsort(bank.information(-0.4))[-5:].tolist())
    rng = np.random.default_rng(1)
    picks = {select_item(bank, -0.4, np.ones(200, bool), k=5, rng=rng) for _ in range(200)}
    assert picks == top


def test_posterior_criteria_pick_from_the_candidates():
    bank = random_bank(300)
    posterior = Posterior()
    posterior.add(1.2, 0.5, 0.0, True)
    candidates = np.random.default_rng(2).random(300) < 0.5
    for criterion in ("pwi", "mepv"):
        pick = select_item(
            bank,
            0.3,
            candidates,
            nodes=posterior.nodes,
            weights=posterior.weights(),
            criterion=criterion,
        )
        assert candidates[pick]


def test_expected_posterior_variance_matches_updating_both_ways():
    bank = random_bank(20, guessing=True)
    posterior = Posterior()
    posterior.add(1.0, -0.3, 0.0, True)
    w, x = posterior.weights(), posterior.nodes
    got = expected_posterior_variance(bank, x, w, np.arange(20))
    for n in range(20):
        p = probability(x, bank.a[n], bank.b[n], bank.c[n])
        expected = 0.0
        for like in (p, 1 - p):
            post = w * like
            marginal = post.sum()
            post = post / marginal
            mean = post @ x
            expected += marginal * (post @ (x - mean) ** 2)
        assert np.isclose(got[n], expected)


def simulate_exposure(bank, control, examinees, length, seed=0):
    """Max-information tests of a fixed length; returns per-item exposure rates."""
    rng = np.random.default_rng(seed)
    counts = np.zeros(bank.size)
    for theta in rng.normal(0, 1, examinees):
        eligible = control.draw(rng) if control else np.ones(bank.size, bool)
        free, given_items, posterior = eligible.copy(), [], Posterior()
        estimate = 0.0
        for _ in range(length):
            pick = select_item(bank, estimate, free)
            if pick < 0:  # relax exposure, as CatSession does
                pick = select_item(bank, estimate, ~np.isin(np.arange(bank.size), given_items))
            free[pick] = False
            given_items.append(pick)
            correct = rng.random() < probability(theta, bank.a[pick], bank.b[pick])
            posterior.add(bank.a[pick], bank.b[pick], 0.0, correct)
            estimate = posterior.eap()[0]
        counts[given_items] += 1
        if control:
            control.update(eligible, given_items)
    return counts / examinees


def test_exposure_cap_holds_over_a_simulated_population():
    bank = random_bank(80, seed=4)
    rates = simulate_exposure(bank, ItemEligibility(80, r_max=0.25), examinees=200, length=8)
    assert rates.max() <= 0.25
    assert rates.sum() == 8  # every test full length
    uncontrolled = simulate_exposure(bank, None, examinees=200, length=8)
    assert uncontrolled.max() > 0.9  # without control the best items go to everyone


def test_eligibility_probability_is_r_max_over_given_when_eligible():
    control = ItemEligibility(3, r_max=0.2)
    for _ in range(10):
        control.update(np.array([True, True, True]), [0])
    control.update(np.array([True, True, True]), [1])
    p = control.probabilities()
    # item 0: given every time it was eligible and over the cap; item 1: 1 of 11 → 2.2 → 1
    assert p[0] == 0.0 and p[1] == 1.0 and p[2] == 1.0
    restored = ItemEligibility.from_dict(control.to_dict())
    assert np.array_equal(restored.probabilities(), p)
