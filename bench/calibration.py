"""Bench: 2PL item calibration (marginal maximum likelihood) against girth.

Simulates a 2PL bank (a ~ N(1.2, 0.25), i.e. SD 0.5, clipped at 0.3; b ~ N(0, 1))
answered by persons θ ~ N(0, 1) — a complete persons × items matrix by default
(10,000 × 100 = 1,000,000 answers), or with --sparsity F each person answering a random
share 1 − F of the items — and times quizzes.irt.calibration.calibrate (2PL, default
priors and tolerance, from the three answer arrays, standard errors included) against
girth 0.8's twopl_mml on the same answers (items × persons, missing answers tagged as
girth expects), in the same run. Recovery is measured against the generating parameters:
r(a), RMSE(a), RMSE(b), bias(b), for both.

Also printed, to tell sampling error from estimation error: mean_se_a / mean_se_b (root
mean square of our standard errors: the RMSE a sample this size allows); oracle_rmse_a /
oracle_rmse_b, the error of an estimator that knows every person's true θ (a logistic
regression of each item on θ; no estimator that has to infer θ beats it on average);
the RMSE after putting the truth on this sample's θ scale (its own mean and SD, which
MML cannot know: it assumes N(0, 1)); and the marginal log-likelihood at our estimates,
at girth's and at the generating parameters. Prints one JSON line.

    .venv/bin/python bench/calibration.py [--persons 10000] [--items 100] [--seed 1]
        [--sparsity 0.0] [--threads N] [--no-girth] [--a-sd 0.5]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def simulate(persons: int, items: int, seed: int, sparsity: float, a_sd: float = 0.5):
    import numpy as np

    rng = np.random.default_rng(seed)
    # a ~ N(1.2, 0.25) read as the variance: SD 0.5 (--a-sd 0.25 reads it as the SD).
    a = np.clip(rng.normal(1.2, a_sd, items), 0.3, None)
    b = rng.normal(0.0, 1.0, items)
    theta = rng.normal(0.0, 1.0, persons)
    p = 1.0 / (1.0 + np.exp(-a[None, :] * (theta[:, None] - b[None, :])))
    correct = rng.random((persons, items)) < p
    answered = rng.random((persons, items)) >= sparsity
    person, item = np.nonzero(answered)
    return a, b, theta, person, item, correct[answered]


def recovery(a, b, est_a, est_b) -> dict:
    import numpy as np

    return {
        "r_a": float(np.corrcoef(a, est_a)[0, 1]),
        "rmse_a": float(np.sqrt(np.mean((est_a - a) ** 2))),
        "rmse_b": float(np.sqrt(np.mean((est_b - b) ** 2))),
        "bias_b": float(np.mean(est_b - b)),
    }


def known_theta_fit(theta, person, item, correct, items: int):
    """ML 2PL parameters when θ is known: Newton on z = a θ + d, all items at once."""
    import numpy as np

    a, d = np.ones(items), np.zeros(items)
    th, x = theta[person], correct.astype(float)
    for _step in range(50):
        p = 1.0 / (1.0 + np.exp(-(a[item] * th + d[item])))
        w, r = p * (1 - p), x - p
        grad_a = np.bincount(item, r * th, items)
        grad_d = np.bincount(item, r, items)
        h_aa = np.bincount(item, w * th * th, items)
        h_ad = np.bincount(item, w * th, items)
        h_dd = np.bincount(item, w, items)
        det = h_aa * h_dd - h_ad**2
        step_a = (h_dd * grad_a - h_ad * grad_d) / det
        step_d = (h_aa * grad_d - h_ad * grad_a) / det
        a, d = a + step_a, d + step_d
        if max(np.abs(step_a).max(), np.abs(step_d).max()) < 1e-8:
            break
    return a, -d / a


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--sparsity", type=float, default=0.0, help="share of cells not answered (0 = complete)"
    )
    parser.add_argument("--threads", type=int, help="BLAS threads (default: the library's)")
    parser.add_argument("--no-girth", action="store_true", help="skip the girth baseline")
    parser.add_argument(
        "--a-sd",
        type=float,
        default=0.5,
        help="SD of a (0.5: N(1.2, 0.25) as a variance, as the CAT bench; 0.25: as an SD)",
    )
    args = parser.parse_args()
    if not 0 <= args.sparsity < 1:
        parser.error("--sparsity must be in [0, 1)")
    if args.threads:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = str(args.threads)

    import numpy as np

    from quizzes.irt.calibration import calibrate, marginal_loglik, responses_from_arrays
    from quizzes.irt.model import ItemParams

    a, b, theta, person, item, correct = simulate(
        args.persons, args.items, args.seed, args.sparsity, args.a_sd
    )
    data = (person, item, correct)

    started = time.perf_counter()
    result = calibrate(data)
    seconds = time.perf_counter() - started

    oracle_a, oracle_b = known_theta_fit(theta, person, item, correct, args.items)
    # The truth on this sample's own θ scale: what N(0, 1) identifies at best.
    mean, sd = float(theta.mean()), float(theta.std())
    scaled_a, scaled_b = a * sd, (b - mean) / sd
    responses = responses_from_arrays(person, item, correct, n_items=args.items)
    figures = {
        "bench": "calibration",
        "model": "2pl",
        "persons": args.persons,
        "items": args.items,
        "responses": int(correct.shape[0]),
        "sparsity": args.sparsity,
        "seed": args.seed,
        "a_sd": args.a_sd,
        "seconds": round(seconds, 3),
        "iterations": result.iterations,
        "converged": result.converged,
    }
    figures.update({k: round(v, 4) for k, v in recovery(a, b, result.a, result.b).items()})
    figures.update(
        {
            "mean_se_a": round(float(np.sqrt(np.nanmean(result.se_a**2))), 4),
            "mean_se_b": round(float(np.sqrt(np.nanmean(result.se_b**2))), 4),
            "oracle_rmse_a": round(float(np.sqrt(np.mean((oracle_a - a) ** 2))), 4),
            "oracle_rmse_b": round(float(np.sqrt(np.mean((oracle_b - b) ** 2))), 4),
            "rmse_a_sample_scale": round(float(np.sqrt(np.mean((result.a - scaled_a) ** 2))), 4),
            "rmse_b_sample_scale": round(float(np.sqrt(np.mean((result.b - scaled_b) ** 2))), 4),
            "loglik": round(result.loglik, 2),
            "loglik_true": round(marginal_loglik(responses, ItemParams.of(a, b)), 2),
        }
    )

    if not args.no_girth:
        from girth import twopl_mml
        from girth.utilities import INVALID_RESPONSE

        matrix = np.full((args.items, args.persons), INVALID_RESPONSE, dtype=int)
        matrix[item, person] = correct
        started = time.perf_counter()
        girth = twopl_mml(matrix)
        girth_seconds = time.perf_counter() - started
        girth_a = np.asarray(girth["Discrimination"], dtype=float)
        girth_b = np.asarray(girth["Difficulty"], dtype=float).reshape(-1)
        figures["girth_seconds"] = round(girth_seconds, 3)
        figures.update(
            {f"girth_{k}": round(v, 4) for k, v in recovery(a, b, girth_a, girth_b).items()}
        )
        figures["girth_loglik"] = round(
            marginal_loglik(responses, ItemParams.of(girth_a, girth_b)), 2
        )
        figures["speedup"] = round(girth_seconds / seconds, 2)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
