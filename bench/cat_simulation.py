"""Bench: adaptive-test simulation of quizzes.irt against catsim on the same bank.

The standard setup: a 2PL bank with a ~ N(1.2, 0.25), i.e. SD 0.5 (the issue gives the
variance), clipped at 0.3, and b ~ N(0, 1); each item given one of four dimensions at
random in the blueprint's 40/20/20/20 shares; examinees θ ~ N(0, 1), every test
starting at θ = 0. Answers come from one matrix of uniform draws (examinee × position)
shared by both engines, so they see the same examinees and the same luck.

quizzes.irt runs a CatEngine: EAP after every answer, posterior-weighted information
for the first item, then maximum information; with --exposure on, progressive
randomesque plus item-eligibility exposure control with a running-rate cap at --r-max
(--exposure cap: the running-rate cap alone, the simple baseline); with --blueprint on,
the 40/20/20/20 blueprint; with --se-target, variable length stopping at SE ≤ target
between --min-length and --length. catsim 0.21 runs its MaxInfoSelector (r_max =
--r-max with exposure on or cap, else 1; no content balancing, which catsim lacks)
and NumericalSearchEstimator (bounded MLE with Dodd's heuristic: catsim 0.21 has no
EAP), fixed length --length, on the first --catsim-examinees examinees. catsim_eap_*
rescore catsim's tests with our EAP, to separate selection from scoring.

Measured: EAP θ RMSE after 10/20/30 items (over the tests that reached that length),
and bound_rmse_* (Van Trees: no estimator with any item choice can do better in
expectation on this bank and population, see information_bound),
bias at 30, item exposure (max, unused share), test overlap (Barrada et al. 2010:
N/Q̄ · var(exposure) + Q̄/N, the formula catsim uses; overlap_direct is the mean share
of items two random tests have in common, Σ n_i(n_i − 1) / (M(M − 1) Q̄)), share of
tests that meet the blueprint exactly, mean length, and the time of one select +
estimate step (next_item + record) per item given, p50/p99. Prints one JSON line.

    .venv/bin/python bench/cat_simulation.py --bank-size 500 --examinees 1000 \
        --length 30 --exposure on --blueprint on --seed 1 [--se-target 0.3]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from quizzes.irt.cat import CatConfig, CatEngine  # noqa: E402
from quizzes.irt.estimate import eap  # noqa: E402
from quizzes.irt.model import ItemParams, probability  # noqa: E402
from quizzes.irt.select import Bank, Blueprint, ItemEligibility  # noqa: E402

SHARES = {"knowledge": 0.4, "method": 0.2, "spirit": 0.2, "application": 0.2}
CHECKPOINTS = (10, 20, 30)


def percentile(values, q: float) -> float:
    ordered = np.sort(np.asarray(values))
    return float(ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)])


def make_population(args):
    rng = np.random.default_rng(args.seed)
    # a ~ N(1.2, 0.25) gives the variance: SD 0.5.
    a = np.clip(rng.normal(1.2, 0.5, args.bank_size), 0.3, None)
    b = rng.normal(0.0, 1.0, args.bank_size)
    names = list(SHARES)
    dims = rng.choice(len(names), size=args.bank_size, p=list(SHARES.values()))
    theta = rng.normal(0.0, 1.0, args.examinees)
    uniforms = rng.random((args.examinees, args.length))
    return ItemParams.of(a, b), [names[d] for d in dims], theta, uniforms


def overlaps(counts: np.ndarray, tests: int, mean_length: float) -> tuple[float, float]:
    rates = counts / tests
    formula = counts.shape[0] / mean_length * float(np.var(rates)) + mean_length / counts.shape[0]
    pairs = float(np.sum(counts * (counts - 1))) / (tests * (tests - 1) * mean_length)
    return formula, pairs


def rmse_by_length(estimates, lengths, theta, upto):
    out = {}
    for t in CHECKPOINTS:
        reached = lengths >= t
        if t > upto or not reached.any():
            out[t] = None
            continue
        err = estimates[reached, t - 1] - theta[reached]
        out[t] = (float(np.sqrt(np.mean(err**2))), float(np.mean(err)), int(reached.sum()))
    return out


def information_bound(params, theta, lengths=CHECKPOINTS):
    """Van Trees bound on the RMSE of any estimator and any item choice: 1/√(E[I*] + 1),
    I*(θ) = the information of the L items best at the true θ (no exposure, no blueprint).
    """
    if not lengths:
        return {}
    bank = Bank(params)
    best = np.zeros((len(theta), len(lengths)))
    for j, t in enumerate(theta):
        info = bank.information(float(t))
        top = -np.sort(-np.partition(info, -max(lengths))[-max(lengths) :])
        best[j] = [top[:n].sum() for n in lengths]
    return {n: float(np.sqrt(1.0 / (best[:, k].mean() + 1.0))) for k, n in enumerate(lengths)}


def run_ours(args, params, dims, theta, uniforms):
    bank = Bank(params, dims)
    variable = args.se_target is not None
    config = CatConfig(
        min_length=args.min_length if variable else args.length,
        max_length=args.length,
        se_target=args.se_target,
        blueprint=Blueprint.of(SHARES) if args.blueprint == "on" else None,
        randomesque=args.randomesque if args.exposure == "on" else 1,
        progressive=True,
        pwi_items=args.pwi_items,
        criterion=args.criterion,
    )
    engine = CatEngine(bank, config)
    control = None
    if args.exposure in {"on", "cap"}:
        control = ItemEligibility(bank.size, r_max=args.r_max)
    exposure_rng = np.random.default_rng(args.seed + 1)
    m = len(theta)
    estimates = np.full((m, args.length), np.nan)
    lengths = np.zeros(m, dtype=int)
    counts = np.zeros(bank.size)
    met = 0
    steps, starts = [], []
    for j in range(m):
        started = time.perf_counter()
        eligible = None
        if control is not None:
            if args.exposure == "on":
                eligible = control.draw(exposure_rng)
            else:  # the cap alone
                eligible = control.probabilities() > 0
        session = engine.start(seed=args.seed * 1_000_003 + j, eligible=eligible)
        starts.append(time.perf_counter() - started)
        while True:
            started = time.perf_counter()
            item = session.next_item()
            elapsed = time.perf_counter() - started
            if item is None:
                break
            t = session.length
            correct = uniforms[j, t] < probability(theta[j], bank.a[item], bank.b[item])
            started = time.perf_counter()
            session.record(item, bool(correct))
            steps.append(elapsed + time.perf_counter() - started)
            estimates[j, t] = session.theta
        lengths[j] = session.length
        counts[session.positions] += 1
        met += bool(session.blueprint_met())
        if control is not None:
            mask = eligible if eligible is not None else np.ones(bank.size, dtype=bool)
            control.update(mask, session.positions)
    final = estimates[np.arange(m), lengths - 1]
    overlap, overlap_direct = overlaps(counts, m, float(lengths.mean()))
    return {
        "estimates": estimates,
        "lengths": lengths,
        "final": final,
        "counts": counts,
        "met": met,
        "steps_ms": np.asarray(steps) * 1000,
        "starts_ms": np.asarray(starts) * 1000,
        "overlap": overlap,
        "overlap_direct": overlap_direct,
    }


def run_catsim(args, params, theta, uniforms):
    from catsim.estimation import NumericalSearchEstimator
    from catsim.item_bank import ItemBank
    from catsim.selection import MaxInfoSelector

    m = len(theta)
    items = np.column_stack([params.a, params.b, params.c, np.ones(len(params))])
    # validate=False: catsim 0.21's validator prints an empty line to stdout even when the
    # bank is valid (as this one is by construction), which would break the one JSON line.
    item_bank = ItemBank(items, validate=False)
    r_max = args.r_max if args.exposure in {"on", "cap"} else 1.0
    selector = MaxInfoSelector(r_max=r_max)
    estimator = NumericalSearchEstimator()
    usage = np.zeros(len(params), dtype=int)
    estimates = np.full((m, args.length), np.nan)
    eap_final = np.full(m, np.nan)
    steps = []
    for j in range(m):
        administered, responses, est = [], [], 0.0
        for t in range(args.length):
            started = time.perf_counter()
            item = selector.select(
                item_bank=item_bank, administered_items=administered, est_theta=est
            )
            elapsed = time.perf_counter() - started
            correct = bool(uniforms[j, t] < probability(theta[j], params.a[item], params.b[item]))
            administered.append(int(item))
            responses.append(correct)
            started = time.perf_counter()
            est = float(
                estimator.estimate(
                    item_bank=item_bank,
                    administered_items=administered,
                    response_vector=responses,
                    est_theta=est,
                )
            )
            steps.append(elapsed + time.perf_counter() - started)
            estimates[j, t] = est
            usage[item] += 1
            item_bank.update_exposure_rate(item, usage[item] / m)
        eap_final[j] = eap(params.take(np.asarray(administered)), responses)[0]
    return estimates, eap_final, np.asarray(steps) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bank-size", type=int, default=500)
    parser.add_argument("--examinees", type=int, default=1000)
    parser.add_argument("--length", type=int, default=30, help="test length (max if variable)")
    parser.add_argument("--exposure", choices=("on", "off", "cap"), default="off")
    parser.add_argument("--blueprint", choices=("on", "off"), default="off")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--se-target", type=float, default=None, help="variable length")
    parser.add_argument("--min-length", type=int, default=15, help="with --se-target")
    parser.add_argument("--r-max", type=float, default=0.2, help="exposure cap")
    parser.add_argument("--randomesque", type=int, default=6, help="k at the first item")
    parser.add_argument("--pwi-items", type=int, default=1)
    parser.add_argument("--criterion", choices=("mi", "pwi", "mepv"), default="mi")
    parser.add_argument(
        "--catsim-examinees",
        type=int,
        default=None,
        help="catsim on the first N examinees (default: all up to 1,000,000 / bank size)",
    )
    args = parser.parse_args()

    params, dims, theta, uniforms = make_population(args)
    ours = run_ours(args, params, dims, theta, uniforms)
    by_length = rmse_by_length(ours["estimates"], ours["lengths"], theta, args.length)
    m = args.examinees
    final_err = ours["final"] - theta
    figures = {
        "bench": "cat_simulation",
        "bank_size": args.bank_size,
        "examinees": m,
        "length": args.length,
        "min_length": args.min_length if args.se_target is not None else args.length,
        "se_target": args.se_target,
        "exposure": args.exposure,
        "r_max": args.r_max if args.exposure != "off" else None,
        "randomesque": args.randomesque if args.exposure == "on" else 1,
        "blueprint": args.blueprint,
        "seed": args.seed,
    }
    for t in CHECKPOINTS:
        figures[f"rmse_{t}"] = None if by_length[t] is None else round(by_length[t][0], 4)
    bound = information_bound(params, theta, [t for t in CHECKPOINTS if t <= args.length])
    for t, value in bound.items():
        figures[f"bound_rmse_{t}"] = round(value, 4)
    figures["bias_30"] = None if by_length[30] is None else round(by_length[30][1], 4)
    figures["tests_reaching_30"] = None if by_length[30] is None else by_length[30][2]
    figures |= {
        "rmse_final": round(float(np.sqrt(np.mean(final_err**2))), 4),
        "bias_final": round(float(np.mean(final_err)), 4),
        "mean_length": round(float(ours["lengths"].mean()), 2),
        "min_length_seen": int(ours["lengths"].min()),
        "max_length_seen": int(ours["lengths"].max()),
        "max_exposure": round(float(ours["counts"].max() / m), 4),
        "overlap": round(ours["overlap"], 4),
        "overlap_direct": round(ours["overlap_direct"], 4),
        "unused_pct": round(float(np.mean(ours["counts"] == 0) * 100), 2),
        "blueprint_met_pct": (
            round(100.0 * ours["met"] / m, 2) if args.blueprint == "on" else None
        ),
        "select_p50_ms": round(float(np.median(ours["steps_ms"])), 4),
        "select_p99_ms": round(percentile(ours["steps_ms"], 0.99), 4),
        "start_p99_ms": round(percentile(ours["starts_ms"], 0.99), 4),
        "steps_timed": len(ours["steps_ms"]),
    }

    n_catsim = args.catsim_examinees
    if n_catsim is None:
        n_catsim = min(m, max(20, 1_000_000 // args.bank_size))
    n_catsim = max(0, min(n_catsim, m))
    if n_catsim:
        sub = slice(0, n_catsim)
        estimates, eap_final, steps = run_catsim(args, params, theta[sub], uniforms[sub])
        lengths = np.full(n_catsim, args.length)
        cs = rmse_by_length(estimates, lengths, theta[sub], args.length)
        for t in CHECKPOINTS:
            figures[f"catsim_rmse_{t}"] = None if cs[t] is None else round(cs[t][0], 4)
        eap_err = eap_final - theta[sub]
        ours_sub = ours["estimates"][sub]
        ours_cs = rmse_by_length(ours_sub, ours["lengths"][sub], theta[sub], args.length)
        figures |= {
            "catsim_examinees": n_catsim,
            "catsim_eap_rmse_final": round(float(np.sqrt(np.mean(eap_err**2))), 4),
            "catsim_select_p50_ms": round(float(np.median(steps)), 4),
            "catsim_select_p99_ms": round(percentile(steps, 0.99), 4),
            "ours_rmse_30_on_catsim_examinees": (
                None if ours_cs[30] is None else round(ours_cs[30][0], 4)
            ),
            "ratio_select_p99": round(percentile(steps, 0.99) / figures["select_p99_ms"], 1),
        }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
