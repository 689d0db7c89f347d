"""Item calibration: marginal maximum likelihood by EM (Bock–Aitkin), linking and drift.

The data are sparse: a person answers only the items an adaptive test or a paper gave
them. Responses come in as three parallel arrays (person index, item index, correct) or
as a person × item matrix, and every computation touches only the answers given.

EM on a fixed quadrature grid θ_1 … θ_Q with weights w_q (the population density):

- E-step. For person j at node q the log-likelihood of the answers is

      ℓ_jq = Σ_i x_ij log P_i(θ_q) + (1 − x_ij) log Q_i(θ_q)
           = (X @ (log P − log Q) + M @ log Q)_jq

  with X / M the person × item indicators of right / given answers and log P, log Q
  item × node tables. Mostly answered data are stored dense in float32, so BLAS does
  the work (M drops out when every person answered every item); sparse data as one
  scipy CSR matrix [R1 R0] of right and wrong answers, so that ℓ = [R1 R0] @ [log P;
  log Q] touches every answer once. The posterior over nodes is exp(ℓ_jq) w_q normalised
  per person, and the expected counts of right and wrong answers of every item at every
  node are the transposed products with the posterior: an E-step is two or three
  products and one exponent per person and node, never a loop over persons or items.
- M-step. Every item's expected complete-data log-posterior

      Σ_q r_iq log P_i(θ_q) + (n_iq − r_iq) log Q_i(θ_q) + log prior_i

  is maximised by Fisher scoring on (log a, b[, logit c]), all items at once (batched
  2 × 2 or 3 × 3 solves, step halving where a step would lower the objective).
- EM converges linearly and slowly (the common shift of all b and scale of all a
  crawls); SQUAREM extrapolation (Varadhan & Roland 2008) cuts the number of E-steps by
  about three, keeping an extrapolated point only if it does not lower the log-posterior.

Priors (MAP): log a ~ N(μ, σ²) (lognormal a), b ~ N(μ_b, σ_b²), c ~ Beta(α, β). Without
anchors the population is N(0, 1), which sets the scale. With anchors (items whose
parameters are held at stored values) the population mean and SD are estimated too, so
the anchors alone set the scale and the new items land on it.

Standard errors come from the cross-product of each person's score per item (the
"XPD" information, one block per item), which accounts for the uncertainty in θ.

Pure numpy/scipy; no Django import (see the package docstring).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
from scipy import optimize, sparse
from scipy.special import expit, log_expit, logit

from .model import LABEL_PRIORS, FloatArray, ItemParams, probability

BoolArray: TypeAlias = npt.NDArray[np.bool_]

MODELS = ("2pl", "3pl")

# Parameter bounds during estimation. c stays below one half: a guessing floor above it
# is not a multiple-choice item any more (true/false items sit at 0.5 at most).
A_MIN, A_MAX = 0.05, 8.0
B_MIN, B_MAX = -8.0, 8.0
C_MIN, C_MAX = 1e-4, 0.5

# Above this share of answered cells (and below DENSE_MAX_CELLS cells) the indicator
# matrices are stored dense, so the two products per E-step run in BLAS.
DENSE_ABOVE = 0.25
DENSE_MAX_CELLS = 20_000_000


# --------------------------------------------------------------------------- input


@dataclass(frozen=True)
class Responses:
    """Answers as parallel arrays: person j answered item i, right or wrong."""

    persons: npt.NDArray[np.int64]  # (n,)
    items: npt.NDArray[np.int64]  # (n,)
    correct: BoolArray  # (n,)
    n_persons: int
    n_items: int

    def __len__(self) -> int:
        return int(self.persons.shape[0])


# What ``calibrate`` takes: Responses, a (persons, items, correct) tuple of arrays, or a
# person × item matrix (dense, or scipy.sparse).
ResponseData: TypeAlias = (
    Responses
    | tuple[npt.ArrayLike, npt.ArrayLike, npt.ArrayLike]
    | npt.ArrayLike
    | sparse.sparray
    | sparse.spmatrix
)


def _index_array(values: npt.ArrayLike, name: str) -> npt.NDArray[np.int64]:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a one-dimensional array, got shape {array.shape}")
    integral = np.issubdtype(array.dtype, np.integer) or (
        np.issubdtype(array.dtype, np.floating) and np.all(array == np.round(array))
    )
    if array.size and not integral:
        raise ValueError(f"{name} must hold integer indices, got {array.dtype} values")
    return array.astype(np.int64)


def responses_from_arrays(
    persons: npt.ArrayLike,
    items: npt.ArrayLike,
    correct: npt.ArrayLike,
    *,
    n_persons: int | None = None,
    n_items: int | None = None,
) -> Responses:
    """Check and wrap three parallel arrays (person index, item index, right or wrong).

    Indices count from 0. n_items defaults to the largest item index + 1; pass it when
    the bank has items nobody answered yet (they get their prior). Raises ValueError on
    arrays of different lengths, no answers, indices out of range, values of ``correct``
    other than 0/1, and a person answering the same item twice.
    """
    persons = _index_array(persons, "persons")
    items = _index_array(items, "items")
    raw = np.asarray(correct)
    if raw.ndim != 1:
        raise ValueError(f"correct must be a one-dimensional array, got shape {raw.shape}")
    if not persons.shape[0] == items.shape[0] == raw.shape[0]:
        raise ValueError(
            "persons, items and correct must have the same length "
            f"(got {persons.shape[0]}, {items.shape[0]}, {raw.shape[0]})"
        )
    if persons.shape[0] == 0:
        raise ValueError("no responses to calibrate")
    if raw.dtype != bool and not np.all((raw == 0) | (raw == 1)):
        raise ValueError("correct must hold 0/1 or True/False values only")
    for name, index, limit in (("person", persons, n_persons), ("item", items, n_items)):
        low, high = int(index.min()), int(index.max())
        if low < 0:
            raise ValueError(f"{name} index {low} is negative")
        if limit is not None and high >= limit:
            raise ValueError(f"{name} index {high} out of range for {limit} {name}s")
    n_persons = int(persons.max()) + 1 if n_persons is None else int(n_persons)
    n_items = int(items.max()) + 1 if n_items is None else int(n_items)
    cells = persons * n_items + items
    if n_persons * n_items <= 10_000_000:
        repeated_any = np.bincount(cells, minlength=n_persons * n_items).max() > 1
    else:
        ordered = np.sort(cells)
        repeated_any = bool(np.any(ordered[1:] == ordered[:-1]))
    if repeated_any:
        order = np.argsort(cells, kind="stable")
        repeated = order[1:][cells[order][1:] == cells[order][:-1]][0]
        raise ValueError(
            f"person {persons[repeated]} answered item {items[repeated]} more than once; "
            "keep one answer per person and item"
        )
    return Responses(persons, items, raw.astype(bool), n_persons, n_items)


def responses_from_matrix(matrix: npt.ArrayLike | sparse.sparray | sparse.spmatrix) -> Responses:
    """Answers from a person × item matrix.

    A scipy.sparse matrix: each stored entry is an answer, > 0 right and ≤ 0 wrong (store
    wrong answers as explicit zeros or as −1; cells not stored were not answered, so do
    not call ``eliminate_zeros`` on it). A dense array: 0/1 or booleans, NaN where the
    person did not answer.
    """
    if sparse.issparse(matrix):
        coo = sparse.coo_matrix(matrix)  # duplicates, if any, are refused below
        return responses_from_arrays(
            coo.row, coo.col, coo.data > 0, n_persons=coo.shape[0], n_items=coo.shape[1]
        )
    array = np.asarray(matrix)
    if array.ndim != 2:
        raise ValueError(f"a response matrix must be two-dimensional, got shape {array.shape}")
    answered = ~np.isnan(array) if np.issubdtype(array.dtype, np.floating) else None
    if answered is None:
        persons, items = np.indices(array.shape).reshape(2, -1)
        values = array.reshape(-1)
    else:
        persons, items = np.nonzero(answered)
        values = array[answered]
    return responses_from_arrays(
        persons, items, values, n_persons=array.shape[0], n_items=array.shape[1]
    )


def as_responses(data: ResponseData) -> Responses:
    """Responses, a (persons, items, correct) tuple, or a matrix (see above)."""
    if isinstance(data, Responses):
        return data
    if isinstance(data, tuple):
        if len(data) != 3:
            raise ValueError("expected a (persons, items, correct) tuple of three arrays")
        return responses_from_arrays(*data)
    return responses_from_matrix(data)


# --------------------------------------------------------------------------- priors


@dataclass(frozen=True)
class Priors:
    """Item priors for MAP estimation; every field is a scalar or one value per item.

    log a ~ N(log_a_mean, log_a_sd²) (lognormal a), b ~ N(b_mean, b_sd²),
    c ~ Beta(c_alpha, c_beta) (3PL only; Beta(5, 17) has its mode at 0.2).
    The defaults are weak: with a few hundred answers per item they hardly move an
    estimate, and they keep items everybody got right (or wrong) finite.
    """

    log_a_mean: float | FloatArray = 0.0
    log_a_sd: float | FloatArray = 0.5
    b_mean: float | FloatArray = 0.0
    b_sd: float | FloatArray = 2.0
    c_alpha: float | FloatArray = 5.0
    c_beta: float | FloatArray = 17.0

    def broadcast(self, n_items: int) -> Priors:
        values = {
            name: np.broadcast_to(np.asarray(getattr(self, name), dtype=float), (n_items,))
            for name in self.__dataclass_fields__
        }
        if np.any(values["log_a_sd"] <= 0) or np.any(values["b_sd"] <= 0):
            raise ValueError("prior standard deviations must be positive")
        if np.any(values["c_alpha"] < 1) or np.any(values["c_beta"] < 1):
            raise ValueError("the beta prior on c needs alpha ≥ 1 and beta ≥ 1")
        return Priors(**values)


def priors_from_labels(labels: Iterable[str], **overrides: float | FloatArray) -> Priors:
    """Priors whose b mean and SD come from each item's difficulty label (LABEL_PRIORS)."""
    pairs = [LABEL_PRIORS.get(label, LABEL_PRIORS["medium"]) for label in labels]
    fields: dict[str, float | FloatArray] = {
        "b_mean": np.array([m for m, _s in pairs]),
        "b_sd": np.array([s for _m, s in pairs]),
    }
    fields.update(overrides)
    return Priors(**fields)


# --------------------------------------------------------------------------- result


@dataclass(frozen=True)
class Calibration:
    """Result of ``calibrate``: parameters, standard errors and how EM went.

    se_* are NaN for anchors (held fixed) and for c under the 2PL. ``n_answers`` is the
    number of answers each item had; items with none keep their prior mode.
    """

    params: ItemParams
    se_a: FloatArray
    se_b: FloatArray
    se_c: FloatArray
    n_answers: npt.NDArray[np.intp]
    model: str
    iterations: int
    converged: bool
    loglik: float  # marginal log-likelihood of the answers at the estimates
    population_mean: float
    population_sd: float
    n_persons: int  # persons with at least one answer

    @property
    def a(self) -> FloatArray:
        return self.params.a

    @property
    def b(self) -> FloatArray:
        return self.params.b

    @property
    def c(self) -> FloatArray:
        return self.params.c


# --------------------------------------------------------------------------- design


class _Design:
    """The answers as indicator matrices, persons × items; persons without answers dropped.

    Dense float32 X (right) and M (answered) when most cells are answered, so that the
    products run in BLAS (M is left out when every person answered every item). Otherwise
    one scipy CSR matrix [R1 R0] of right and wrong answers.
    """

    def __init__(self, responses: Responses) -> None:
        seen = np.bincount(responses.persons, minlength=responses.n_persons) > 0
        self.n_persons = int(seen.sum())
        self.n_items = n_items = responses.n_items
        self.person = (np.cumsum(seen) - 1)[responses.persons]
        self.item = responses.items
        self.correct = responses.correct
        self.n_answers = np.bincount(self.item, minlength=n_items)
        self.n_right = np.bincount(self.item[self.correct], minlength=n_items)
        cells = self.n_persons * n_items
        self.dense = len(responses) >= DENSE_ABOVE * cells and cells <= DENSE_MAX_CELLS
        self.complete = len(responses) == cells
        shape = (self.n_persons, n_items)
        if self.dense:
            self.right = np.zeros(shape, dtype=np.float32)
            self.right[self.person[self.correct], self.item[self.correct]] = 1.0
            self.right_t = self.right.T
            self.answered = None
            if not self.complete:
                self.answered = np.zeros(shape, dtype=np.float32)
                self.answered[self.person, self.item] = 1.0
                self.answered_t = self.answered.T
        else:
            # One CSR matrix [R1 R0] (persons × 2 items: right answers, then wrong ones),
            # so each product touches every answer once.
            column = self.item + np.where(self.correct, 0, n_items)
            stacked = sparse.csr_matrix(
                (np.ones(len(responses)), (self.person, column)),
                shape=(self.n_persons, 2 * n_items),
            )
            self.stacked, self.stacked_t = stacked, stacked.T.tocsr()

    def loglik_nodes(self, log_p: FloatArray, log_q: FloatArray) -> FloatArray:
        """ℓ_jq = X @ (log P − log Q) + M @ log Q, persons × nodes (float64)."""
        if not self.dense:
            return self.stacked @ np.vstack([log_p, log_q])
        out = (self.right @ (log_p - log_q).astype(np.float32)).astype(np.float64)
        if self.answered is None:
            out += log_q.sum(axis=0)[None, :]
        else:
            out += self.answered @ log_q.astype(np.float32)
        return out

    def counts(self, post: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Expected right and wrong answers of every item at every node (items × nodes)."""
        if not self.dense:
            both = self.stacked_t @ post
            return both[: self.n_items], both[self.n_items :]
        weights = post.astype(np.float32)
        right = (self.right_t @ weights).astype(np.float64)
        if self.answered is None:
            answered = post.sum(axis=0)[None, :]
        else:
            answered = (self.answered_t @ weights).astype(np.float64)
        return right, np.maximum(answered - right, 0.0)


# --------------------------------------------------------------------------- maths


def _log_pq(
    nodes: FloatArray, a: FloatArray, b: FloatArray, c: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """log P and log Q, items × nodes."""
    z = a[:, None] * (nodes[None, :] - b[:, None])
    if not np.any(c > 0):
        return log_expit(z), log_expit(-z)
    log_c = np.log(np.maximum(c, 1e-300))[:, None]
    log_1c = np.log1p(-c)[:, None]
    return np.logaddexp(log_c, log_1c + log_expit(z)), log_1c + log_expit(-z)


def _unpack(u: FloatArray, three: bool) -> tuple[FloatArray, FloatArray, FloatArray]:
    a = np.exp(u[:, 0])
    b = u[:, 1]
    c = expit(u[:, 2]) if three else np.zeros_like(b)
    return a, b, c


def _clip(u: FloatArray, three: bool) -> FloatArray:
    u[:, 0] = np.clip(u[:, 0], np.log(A_MIN), np.log(A_MAX))
    u[:, 1] = np.clip(u[:, 1], B_MIN, B_MAX)
    if three:
        u[:, 2] = np.clip(u[:, 2], logit(C_MIN), logit(C_MAX))
    return u


def _objective(
    u: FloatArray,
    nodes: FloatArray,
    right: FloatArray,
    wrong: FloatArray,
    priors: Priors,
    three: bool,
) -> FloatArray:
    """Expected complete-data log-posterior of every item."""
    a, b, c = _unpack(u, three)
    log_p, log_q = _log_pq(nodes, a, b, c)
    value = (right * log_p + wrong * log_q).sum(axis=1)
    value -= 0.5 * ((u[:, 0] - priors.log_a_mean) / priors.log_a_sd) ** 2
    value -= 0.5 * ((u[:, 1] - priors.b_mean) / priors.b_sd) ** 2
    if three:
        value += (priors.c_alpha - 1) * np.log(c) + (priors.c_beta - 1) * np.log1p(-c)
    return value


def _score_information(
    u: FloatArray,
    nodes: FloatArray,
    right: FloatArray,
    wrong: FloatArray,
    priors: Priors,
    three: bool,
) -> tuple[FloatArray, FloatArray]:
    """Gradient (items × k) and Fisher information (items × k × k) of ``_objective``."""
    a, b, c = _unpack(u, three)
    total = right + wrong
    z = a[:, None] * (nodes[None, :] - b[:, None])
    s = expit(z)
    cc = c[:, None]
    p = cc + (1 - cc) * s
    g = s / p  # (1 − c) σ (1 − σ) / (P Q): dP/dz over P Q
    resid = right - total * p
    jac_a = a[:, None] * (nodes[None, :] - b[:, None])  # dz / d log a
    jac_b = -a[:, None]  # dz / db
    weight = total * (1 - cc) * s * (1 - s) * g
    k = 3 if three else 2
    grad = np.empty((u.shape[0], k))
    info = np.empty((u.shape[0], k, k))
    grad[:, 0] = (resid * g * jac_a).sum(axis=1) - (u[:, 0] - priors.log_a_mean) / (
        priors.log_a_sd**2
    )
    grad[:, 1] = (resid * g).sum(axis=1) * jac_b[:, 0] - (u[:, 1] - priors.b_mean) / (
        priors.b_sd**2
    )
    info[:, 0, 0] = (weight * jac_a**2).sum(axis=1) + 1 / priors.log_a_sd**2
    info[:, 1, 1] = weight.sum(axis=1) * a**2 + 1 / priors.b_sd**2
    info[:, 0, 1] = info[:, 1, 0] = (weight * jac_a).sum(axis=1) * jac_b[:, 0]
    if three:
        dc = cc * (1 - cc)  # dc / d logit c
        grad[:, 2] = (resid * cc / p).sum(axis=1)
        grad[:, 2] += (priors.c_alpha - 1) * (1 - c) - (priors.c_beta - 1) * c
        cross = total * (1 - s) * dc * g  # z–logit c block
        info[:, 0, 2] = info[:, 2, 0] = (cross * jac_a).sum(axis=1)
        info[:, 1, 2] = info[:, 2, 1] = cross.sum(axis=1) * jac_b[:, 0]
        info[:, 2, 2] = (total * (1 - s) * cc**2 * (1 - cc) / p).sum(axis=1)
        info[:, 2, 2] += (priors.c_alpha + priors.c_beta - 2) * c * (1 - c)
    return grad, info


def _m_step(
    u: FloatArray,
    free: BoolArray,
    nodes: FloatArray,
    right: FloatArray,
    wrong: FloatArray,
    priors: Priors,
    three: bool,
    *,
    steps: int = 8,
    tol: float = 1e-7,
) -> FloatArray:
    """Fisher scoring for all free items at once, with step halving."""
    u = u.copy()
    sub = np.flatnonzero(free)
    uf, rf, wf = u[sub], right[sub], wrong[sub]
    pf = Priors(**{name: getattr(priors, name)[sub] for name in priors.__dataclass_fields__})
    current = _objective(uf, nodes, rf, wf, pf, three)
    for _step in range(steps):
        grad, info = _score_information(uf, nodes, rf, wf, pf, three)
        delta = np.linalg.solve(info, grad[:, :, None])[:, :, 0]
        # At most one unit in any coordinate, keeping the direction (an ascent direction).
        delta /= np.maximum(1.0, np.abs(delta).max(axis=1, keepdims=True))
        scale = np.ones(uf.shape[0])
        for _halving in range(8):
            trial = _clip(uf + scale[:, None] * delta, three)
            value = _objective(trial, nodes, rf, wf, pf, three)
            worse = value < current - 1e-10 * np.abs(current)
            if not worse.any():
                break
            scale[worse] *= 0.5
        keep = ~worse
        moved = np.abs(trial[keep] - uf[keep]).max(initial=0.0)
        uf[keep], current[keep] = trial[keep], value[keep]
        if moved < tol:
            break
    u[sub] = uf
    return u


def _population_log_weights(nodes: FloatArray, mean: float, sd: float) -> FloatArray:
    log_w = -0.5 * ((nodes - mean) / sd) ** 2
    return log_w - np.logaddexp.reduce(log_w)


def _e_step(
    design: _Design,
    nodes: FloatArray,
    log_w: FloatArray,
    a: FloatArray,
    b: FloatArray,
    c: FloatArray,
) -> tuple[FloatArray, float]:
    """Posterior over nodes per person (persons × nodes) and the marginal log-likelihood."""
    log_p, log_q = _log_pq(nodes, a, b, c)
    post = design.loglik_nodes(log_p, log_q)
    post += log_w[None, :]
    peak = post.max(axis=1, keepdims=True)
    post -= peak
    np.exp(post, out=post)
    total = post.sum(axis=1, keepdims=True)
    post /= total
    return post, float(np.log(total).sum() + peak.sum())


def _log_prior(u: FloatArray, priors: Priors, three: bool) -> float:
    value = -0.5 * ((u[:, 0] - priors.log_a_mean) / priors.log_a_sd) ** 2
    value -= 0.5 * ((u[:, 1] - priors.b_mean) / priors.b_sd) ** 2
    if three:
        c = expit(u[:, 2])
        value += (priors.c_alpha - 1) * np.log(c) + (priors.c_beta - 1) * np.log1p(-c)
    return float(value.sum())


def _score_crossproducts(
    design: _Design, post: FloatArray, parts: Sequence[FloatArray], p: FloatArray
) -> FloatArray:
    """Σ over answers of s sᵀ per item, s an answer's expected score over the posterior.

    For answer (j, i) and each f in parts, s = x_ij · E_j[f_i] − E_j[P_i f_i].
    """
    k = len(parts)
    info = np.zeros((design.n_items, k, k))
    if design.dense:
        rows = max(1, 2_000_000 // design.n_items)
        for start in range(0, design.n_persons, rows):
            block = slice(start, start + rows)
            right = design.right[block].astype(np.float64)
            scores = []
            for part in parts:
                score = right * (post[block] @ part.T) - post[block] @ (p * part).T
                if design.answered is not None:
                    score *= design.answered[block]
                scores.append(score)
            for m in range(k):
                for n in range(m, k):
                    info[:, m, n] += (scores[m] * scores[n]).sum(axis=0)
    else:
        per_answer = np.empty((design.person.shape[0], k))
        x = design.correct.astype(float)
        chunk = max(1, 4_000_000 // post.shape[1])
        for start in range(0, design.person.shape[0], chunk):
            span = slice(start, start + chunk)
            weights = post[design.person[span]]
            items = design.item[span]
            for n, part in enumerate(parts):
                mean_f = np.einsum("nq,nq->n", weights, part[items])
                mean_pf = np.einsum("nq,nq->n", weights, (p * part)[items])
                per_answer[span, n] = x[span] * mean_f - mean_pf
        for m in range(k):
            for n in range(m, k):
                product = per_answer[:, m] * per_answer[:, n]
                info[:, m, n] = np.bincount(design.item, weights=product, minlength=design.n_items)
    for m in range(k):
        for n in range(m):
            info[:, m, n] = info[:, n, m]
    return info


def _standard_errors(
    design: _Design,
    post: FloatArray,
    nodes: FloatArray,
    u: FloatArray,
    priors: Priors,
    three: bool,
    free: BoolArray,
) -> FloatArray:
    """Cross-product (XPD) standard errors, one information block per item."""
    a, b, c = _unpack(u, three)
    z = a[:, None] * (nodes[None, :] - b[:, None])
    s = expit(z)
    cc = c[:, None]
    p = cc + (1 - cc) * s
    g = s / p
    # d log P(x | θ) / d(log a, b, logit c) = (x − P) · f for these f.
    parts = [g * a[:, None] * (nodes[None, :] - b[:, None]), g * -a[:, None]]
    if three:
        parts.append(cc / p)
    info = _score_crossproducts(design, post, parts, p)
    info[:, 0, 0] += 1 / priors.log_a_sd**2
    info[:, 1, 1] += 1 / priors.b_sd**2
    if three:
        info[:, 2, 2] += (priors.c_alpha + priors.c_beta - 2) * c * (1 - c)
    se = np.full((u.shape[0], 3), np.nan)
    sub = np.flatnonzero(free & (design.n_answers > 0))
    if sub.size:
        cov = np.linalg.pinv(info[sub])
        var = np.diagonal(cov, axis1=1, axis2=2)
        # Delta method back from (log a, b, logit c) to (a, b, c).
        se[sub, 0] = a[sub] * np.sqrt(var[:, 0])
        se[sub, 1] = np.sqrt(var[:, 1])
        if three:
            se[sub, 2] = c[sub] * (1 - c[sub]) * np.sqrt(var[:, 2])
    return se


class _EM:
    """One EM step as a map on a flat vector x (free items' parameters, population).

    x holds the free items' (log a, b[, logit c]) and, when the population is
    estimated, its mean and log SD. ``step(x)`` returns F(x), the log-posterior at x and
    the largest move of any a, b, c, mean or SD.
    """

    def __init__(
        self,
        design: _Design,
        grid: FloatArray,
        priors: Priors,
        three: bool,
        free: BoolArray,
        u: FloatArray,
        fixed_c: FloatArray,
        estimate_population: bool,
    ) -> None:
        self.design, self.grid, self.priors, self.three = design, grid, priors, three
        self.free, self.u, self.fixed_c = free, u, fixed_c
        self.estimate_population = estimate_population
        self.sub = np.flatnonzero(free)
        self.sub_priors = Priors(
            **{name: getattr(priors, name)[self.sub] for name in priors.__dataclass_fields__}
        )

    def pack(self, u: FloatArray, mean: float = 0.0, sd: float = 1.0) -> FloatArray:
        tail = [mean, np.log(sd)] if self.estimate_population else []
        return np.concatenate([u[self.sub].ravel(), tail])

    def unpack(self, x: FloatArray) -> tuple[FloatArray, float, float]:
        u = self.u.copy()
        size = self.sub.size * u.shape[1]
        u[self.sub] = _clip(x[:size].reshape(self.sub.size, u.shape[1]).copy(), self.three)
        mean, sd = (x[size], float(np.exp(x[size + 1]))) if self.estimate_population else (0, 1)
        return u, mean, sd

    def natural(self, u: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        a, b, c = _unpack(u, self.three)
        return a, b, (c if self.three else self.fixed_c)

    def step(self, x: FloatArray) -> tuple[FloatArray, float, float]:
        u, mean, sd = self.unpack(x)
        log_w = _population_log_weights(self.grid, mean, sd)
        post, loglik = _e_step(self.design, self.grid, log_w, *self.natural(u))
        right, wrong = self.design.counts(post)
        new_mean, new_sd = mean, sd
        if self.estimate_population:
            weights = post.mean(axis=0)
            new_mean = float(weights @ self.grid)
            new_sd = float(np.sqrt(weights @ (self.grid - new_mean) ** 2))
        new_u = _m_step(u, self.free, self.grid, right, wrong, self.priors, self.three)
        moves = [abs(new_mean - mean), abs(new_sd - sd)]
        for old, new in zip(self.natural(u), self.natural(new_u), strict=True):
            moves.append(float(np.abs(old[self.sub] - new[self.sub]).max(initial=0.0)))
        objective = loglik + _log_prior(u[self.sub], self.sub_priors, self.three)
        return self.pack(new_u, new_mean, new_sd), objective, max(moves)


def _start(design: _Design, priors: Priors, three: bool) -> FloatArray:
    """Starting values from proportions correct (a = 1, b from the logit)."""
    share = (design.n_right + 0.5) / (design.n_answers + 1.0)
    columns = []
    if three:
        mode = (priors.c_alpha - 1) / (priors.c_alpha + priors.c_beta - 2)
        c = np.clip(mode, C_MIN, C_MAX)
        share = np.clip((share - c) / (1 - c), 0.02, 0.98)
        columns = [logit(c)]
    b = np.where(design.n_answers > 0, -1.3 * logit(share), priors.b_mean)
    u = np.column_stack([np.zeros(design.n_items), b, *columns])
    return _clip(u, three)


# --------------------------------------------------------------------------- calibrate


def _given_start(start: ItemParams, n_items: int, three: bool) -> FloatArray:
    """Starting values on the working scale (log a, b, logit c) from given parameters."""
    if len(start) != n_items:
        raise ValueError(f"start has {len(start)} items, the data {n_items}")
    u = np.zeros((n_items, 3 if three else 2))
    u[:, 0] = np.log(np.clip(start.a, A_MIN, A_MAX))
    u[:, 1] = np.clip(start.b, B_MIN, B_MAX)
    if three:
        u[:, 2] = logit(np.clip(start.c, C_MIN, C_MAX))
    return u


def _hold_anchors(
    u: FloatArray,
    free: BoolArray,
    anchors: Mapping[int, tuple[float, float] | tuple[float, float, float]],
    three: bool,
) -> FloatArray:
    """Put the anchor items' values into u and mark them not free; the fixed c of a
    2PL calibration's anchors is returned (zeros elsewhere)."""
    n_items = len(free)
    fixed_c = np.zeros(n_items)
    for index, values in anchors.items():
        if not 0 <= index < n_items:
            raise ValueError(f"anchor item {index} out of range for {n_items} items")
        if len(values) not in (2, 3):
            raise ValueError(f"anchor item {index}: give (a, b) or (a, b, c)")
        a_value, b_value = float(values[0]), float(values[1])
        c_value = float(values[2]) if len(values) == 3 else 0.0
        if a_value <= 0 or not 0 <= c_value < 1:
            raise ValueError(f"anchor item {index}: need a > 0 and 0 ≤ c < 1")
        free[index] = False
        u[index, 0], u[index, 1] = np.log(a_value), b_value
        if three:
            u[index, 2] = logit(max(c_value, 1e-12))
        else:
            fixed_c[index] = c_value
    return fixed_c


def _squarem(
    em: _EM,
    x: FloatArray,
    tol: float,
    max_iter: int,
    progress: Callable[[int, float, float], None] | None,
) -> tuple[FloatArray, int, bool]:
    """EM from x, accelerated: (the packed estimate, EM steps taken, converged)."""
    evaluations = 0
    converged = False

    def step(x: FloatArray) -> tuple[FloatArray, float]:
        nonlocal evaluations, converged
        new, objective, change = em.step(x)
        evaluations += 1
        converged = change < tol
        if progress is not None:
            progress(evaluations, change, objective)
        return new, objective

    # SQUAREM (Varadhan & Roland 2008): two EM steps x0 → x1 → x2, then an extrapolated
    # x0 − 2αr + α²v along them, kept only if it does not lower the log-posterior.
    # Converged when a plain EM step moves nothing by more than tol.
    step_max = 1.0
    while evaluations < max_iter:
        x1, objective0 = step(x)
        if converged or evaluations >= max_iter:
            x = x1
            break
        x2, _objective1 = step(x1)
        if converged or evaluations >= max_iter:
            x = x2
            break
        r = x1 - x
        v = x2 - x1 - r
        alpha = -np.sqrt((r @ r) / (v @ v)) if v @ v > 0 else -1.0
        alpha = float(np.clip(alpha, -step_max, -1.0))
        x3, objective3 = step(x - 2 * alpha * r + alpha * alpha * v)
        if np.isfinite(objective3) and objective3 >= objective0:
            x = x3
            if converged:
                break
            if alpha == -step_max:
                step_max *= 4
        else:
            x = x2
            step_max = max(1.0, step_max / 4)
        converged = False

    return x, evaluations, converged


def calibrate(
    data: ResponseData,
    *,
    model: str = "2pl",
    priors: Priors | None = None,
    anchors: Mapping[int, tuple[float, float] | tuple[float, float, float]] | None = None,
    start: ItemParams | None = None,
    estimate_population: bool | None = None,
    nodes: int = 61,
    bounds: tuple[float, float] = (-6.0, 6.0),
    tol: float = 1e-4,
    max_iter: int = 500,
    standard_errors: bool = True,
    progress: Callable[[int, float, float], None] | None = None,
) -> Calibration:
    """Calibrate items by marginal maximum likelihood (EM) with priors.

    data: Responses, a (persons, items, correct) tuple of arrays, or a person × item
    matrix (see ``responses_from_matrix``). model: "2pl" or "3pl". anchors: item index →
    (a, b) or (a, b, c) held fixed; they put every other item on their scale, and the
    population mean and SD are then estimated (``estimate_population`` overrides).
    start: starting values (e.g. the stored parameters) to save iterations. nodes, bounds:
    the quadrature grid. EM stops when no free parameter moves by more than ``tol`` in an
    EM step, or after ``max_iter`` EM steps (E-steps, counting SQUAREM's extrapolated
    ones). Dense data are multiplied in float32, whose rounding puts a floor of about 1e-6
    under a useful ``tol``. progress(iteration, change, log_posterior) is called after
    every EM step, for a task's progress bar (change falls roughly geometrically towards
    ``tol``).
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    if nodes < 11:
        raise ValueError("use at least 11 quadrature nodes")
    if not bounds[0] < bounds[1]:
        raise ValueError("quadrature bounds must be (low, high) with low < high")
    responses = as_responses(data)
    three = model == "3pl"
    design = _Design(responses)
    n_items = design.n_items
    priors = (priors or Priors()).broadcast(n_items)
    grid = np.linspace(bounds[0], bounds[1], nodes)

    free = np.ones(n_items, dtype=bool)
    u = _start(design, priors, three) if start is None else _given_start(start, n_items, three)
    fixed_c = _hold_anchors(u, free, anchors or {}, three)
    if estimate_population is None:
        estimate_population = not free.all()
    if estimate_population and free.all():
        raise ValueError("estimating the population needs anchor items to fix the scale")

    em = _EM(design, grid, priors, three, free, u, fixed_c, estimate_population)
    x, evaluations, converged = _squarem(em, em.pack(u), tol, max_iter, progress)

    u, mean, sd = em.unpack(x)
    log_w = _population_log_weights(grid, mean, sd)
    a, b, c = em.natural(u)
    post, loglik = _e_step(design, grid, log_w, a, b, c)
    if standard_errors:
        se = _standard_errors(design, post, grid, u, priors, three, free)
    else:
        se = np.full((n_items, 3), np.nan)
    return Calibration(
        params=ItemParams.of(a, b, c),
        se_a=se[:, 0],
        se_b=se[:, 1],
        se_c=se[:, 2],
        n_answers=design.n_answers,
        model=model,
        iterations=evaluations,
        converged=converged,
        loglik=loglik,
        population_mean=mean,
        population_sd=sd,
        n_persons=design.n_persons,
    )


def marginal_loglik(
    data: ResponseData,
    params: ItemParams,
    *,
    mean: float = 0.0,
    sd: float = 1.0,
    nodes: int = 61,
    bounds: tuple[float, float] = (-6.0, 6.0),
) -> float:
    """Marginal log-likelihood of the answers under given item parameters, θ ~ N(mean, sd²).

    For comparing fits (2PL against 3PL, AIC) and for checking an estimate against the
    generating parameters of a simulation.
    """
    responses = as_responses(data)
    if responses.n_items > len(params):
        raise ValueError(f"the data have {responses.n_items} items, params {len(params)}")
    design = _Design(replace(responses, n_items=len(params)))
    grid = np.linspace(bounds[0], bounds[1], nodes)
    log_w = _population_log_weights(grid, mean, sd)
    return _e_step(design, grid, log_w, params.a, params.b, params.c)[1]


# --------------------------------------------------------------------------- linking


LINKING_METHODS = ("mean_sigma", "mean_mean", "stocking_lord")


def linking_constants(
    reference: ItemParams, other: ItemParams, *, method: str = "mean_sigma"
) -> tuple[float, float]:
    """Constants (A, B) that put ``other``'s scale on ``reference``'s: θ_ref = A θ + B.

    reference and other are the same anchor items as calibrated on the two scales.
    Apply them with ``link_params``. mean_sigma matches the mean and SD of b; mean_mean
    the means of a and b; stocking_lord minimises the squared difference of the anchors'
    test characteristic curves over N(0, 1) (started from mean/sigma).
    """
    if method not in LINKING_METHODS:
        raise ValueError(f"method must be one of {', '.join(LINKING_METHODS)}, got {method!r}")
    if len(reference) != len(other):
        raise ValueError(
            f"reference and other must be the same anchors ({len(reference)} ≠ {len(other)})"
        )
    if len(reference) < 2:
        raise ValueError("linking needs at least two anchor items")
    if method == "mean_mean":
        slope = float(np.mean(other.a) / np.mean(reference.a))
    else:
        spread = float(np.std(other.b))
        if spread == 0:
            raise ValueError("the anchors' b have no spread; use mean_mean")
        slope = float(np.std(reference.b) / spread)
    shift = float(np.mean(reference.b) - slope * np.mean(other.b))
    if method != "stocking_lord":
        return slope, shift

    theta = np.linspace(-4, 4, 41)
    weight = np.exp(-0.5 * theta**2)
    target = probability(theta[:, None], reference.a, reference.b, reference.c).sum(axis=1)

    def loss(x: FloatArray) -> float:
        linked = link_params(other, x[0], x[1])
        tcc = probability(theta[:, None], linked.a, linked.b, linked.c).sum(axis=1)
        return float(weight @ (target - tcc) ** 2)

    found = optimize.minimize(
        loss,
        np.array([slope, shift]),
        method="Nelder-Mead",
        options={"xatol": 1e-6, "fatol": 1e-10, "maxiter": 2000},
    )
    return float(found.x[0]), float(found.x[1])


def link_params(params: ItemParams, slope: float, shift: float) -> ItemParams:
    """Item parameters moved by θ_new = slope · θ + shift: a / slope, slope · b + shift."""
    if slope <= 0:
        raise ValueError("the linking slope must be positive")
    return ItemParams.of(params.a / slope, slope * params.b + shift, params.c)


# --------------------------------------------------------------------------- drift


@dataclass(frozen=True)
class DriftFlag:
    item: int
    reasons: tuple[str, ...]


def drift_flags(
    stored: ItemParams,
    new: ItemParams,
    *,
    se_b: npt.ArrayLike | None = None,
    b_shift: float = 0.5,
    k_se: float = 2.0,
    a_ratio: float = 1.5,
    c_shift: float = 0.1,
) -> list[DriftFlag]:
    """Items whose parameters moved between a stored and a new calibration (same scale).

    b: flagged when |Δb| > b_shift and, if se_b (the new b's standard errors) is given,
    also |Δb| > k_se · se_b, so a move within the noise of a small sample is not flagged.
    a: flagged when new a / stored a is above a_ratio or below 1 / a_ratio. c: flagged
    when |Δc| > c_shift. Items with NaN in either calibration are skipped. Put the new
    calibration on the stored scale first (anchors, or ``linking_constants``).
    """
    if len(stored) != len(new):
        raise ValueError(f"stored and new differ in length ({len(stored)} ≠ {len(new)})")
    if b_shift <= 0 or a_ratio <= 1 or c_shift <= 0 or k_se < 0:
        raise ValueError("need b_shift > 0, a_ratio > 1, c_shift > 0 and k_se ≥ 0")
    delta_b = new.b - stored.b
    ratio = new.a / stored.a
    delta_c = new.c - stored.c
    noise = np.zeros(len(new)) if se_b is None else k_se * np.asarray(se_b, dtype=float)
    flags = []
    for item in range(len(new)):
        values = (stored.a[item], stored.b[item], new.a[item], new.b[item])
        if not np.all(np.isfinite(values)):
            continue
        reasons = []
        if abs(delta_b[item]) > b_shift and not abs(delta_b[item]) <= noise[item]:
            reasons.append(
                f"b moved {delta_b[item]:+.2f} ({stored.b[item]:.2f} → {new.b[item]:.2f})"
            )
        if ratio[item] > a_ratio or ratio[item] < 1 / a_ratio:
            reasons.append(
                f"a changed ×{ratio[item]:.2f} ({stored.a[item]:.2f} → {new.a[item]:.2f})"
            )
        if abs(delta_c[item]) > c_shift:
            reasons.append(
                f"c moved {delta_c[item]:+.2f} ({stored.c[item]:.2f} → {new.c[item]:.2f})"
            )
        if reasons:
            flags.append(DriftFlag(item, tuple(reasons)))
    return flags
