"""The verdict rules: how a claim's cells become *reproduced*, *not reproduced*, *inconclusive* or
*not tested* (and an upper-bound theorem *consistent* or *violated*).

One rule for every claim of both papers (docs/design.md, "Protocol and verdicts"):

- A cell is **solved** when the lower end of its interval clears the paper's near-perfect
  threshold, **failed** when the upper end is below it, **borderline** otherwise.
- A cell counts only under the protocol: at least ``min_seeds`` seeds and ``min_learning_rates``
  learning rates; otherwise the verdict is inconclusive ("protocol not met").
- **Succeeds** ("model A is near-perfect"): reproduced when A is solved; a borderline or failed A
  is inconclusive — a model that did not learn within a CPU budget says nothing against a claim
  about what it can represent, or learn with a budget a hundred times larger.
- **Separation** ("A succeeds where B fails", in the same cell and budget): the positive control
  first — unless A is solved, the verdict is inconclusive. Then B solved: *not reproduced*; B
  failed: *reproduced*, unless B was still improving at the end of its budget or its chosen
  learning rate sits at its grid's edge (then inconclusive); B borderline: inconclusive.
  Different step caps for A and B: inconclusive.
- A claim tested at several cells (lengths, models) is decided by its decisive cells: any *not
  reproduced* makes it not reproduced; otherwise any *reproduced* makes it reproduced (the
  inconclusive cells are named in the reason); otherwise inconclusive. A claim that must hold at
  *every* cell (:func:`every`) is reproduced only when every cell is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..summary import BORDERLINE as BORDERLINE
from ..summary import FAILED as FAILED
from ..summary import SOLVED as SOLVED

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive"
NOT_TESTED = "not tested"
CONSISTENT = "consistent"
VIOLATED = "violated"
VERDICTS = (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, NOT_TESTED, CONSISTENT, VIOLATED)


@dataclass(frozen=True)
class Rules:
    """The numbers the rules use (config.yaml ``verdicts``; defaults: ``claims.DEFAULT_SETTINGS``,
    through :func:`claims.base.rules_for`)."""

    near_perfect: float
    min_seeds: int
    min_learning_rates: int


@dataclass(frozen=True)
class Evidence:
    """One cell as a verdict sees it: a score with its interval, and how it was obtained."""

    name: str  # e.g. "TF-(1, 64), N = 50"
    acc: float
    low: float
    high: float
    max_steps: int
    seeds: int
    learning_rates: int
    improving: bool = False
    at_edge: bool = False

    @classmethod
    def of_cell(cls, row, name: str) -> Evidence:
        """A cell row of a summary table (``acc``, ``low``, ``high``, ``max_steps``, ``seeds``,
        ``n_lrs``, ``improving``, ``at_edge``), named ``name``."""
        return cls(
            name=name,
            acc=float(row.acc),
            low=float(row.low),
            high=float(row.high),
            max_steps=int(row.max_steps),
            seeds=int(row.seeds),
            learning_rates=int(row.n_lrs),
            improving=bool(row.improving),
            at_edge=bool(row.at_edge),
        )

    def status(self, threshold: float) -> str:
        if self.low >= threshold:
            return SOLVED
        if self.high < threshold:
            return FAILED
        return BORDERLINE

    def text(self) -> str:
        return f"{self.name}: {100 * self.acc:.1f}\\% [{100 * self.low:.1f}, {100 * self.high:.1f}]"


@dataclass(frozen=True)
class Outcome:
    """A verdict, why (empty when decisive and plain), and the cells it used."""

    verdict: str
    reason: str = ""
    cells: tuple[str, ...] = ()


def protocol_problem(cells: Iterable[Evidence], rules: Rules) -> str:
    """Why these cells cannot count (too few seeds or learning rates), or ""."""
    short = [
        e for e in cells if e.seeds < rules.min_seeds or e.learning_rates < rules.min_learning_rates
    ]
    if not short:
        return ""
    seeds = min(e.seeds for e in short)
    lrs = min(e.learning_rates for e in short)
    return (
        f"protocol not met: {seeds} seed(s) and {lrs} learning rate(s) in a cell "
        f"(needs {rules.min_seeds} and {rules.min_learning_rates})"
    )


def succeeds(cell: Evidence | None, rules: Rules) -> Outcome:
    """The paper says this model is near-perfect here."""
    if cell is None:
        return Outcome(NOT_TESTED, "the sweep lacks the cell")
    cells = (cell.text(),)
    problem = protocol_problem([cell], rules)
    if problem:
        return Outcome(INCONCLUSIVE, problem, cells)
    status = cell.status(rules.near_perfect)
    if status == SOLVED:
        return Outcome(REPRODUCED, "", cells)
    if status == BORDERLINE:
        return Outcome(INCONCLUSIVE, f"the interval of {cell.name} overlaps the threshold", cells)
    return Outcome(
        INCONCLUSIVE,
        f"{cell.name} did not learn within {cell.max_steps:,} steps (a budget, not a "
        "representational, limit)",
        cells,
    )


def separation(positive: Evidence | None, negative: Evidence | None, rules: Rules) -> Outcome:
    """The paper says ``positive`` succeeds and ``negative`` fails in this cell."""
    if positive is None or negative is None:
        return Outcome(NOT_TESTED, "the sweep lacks the cells")
    cells = (positive.text(), negative.text())
    problem = protocol_problem([positive, negative], rules)
    if problem:
        return Outcome(INCONCLUSIVE, problem, cells)
    if positive.max_steps != negative.max_steps:
        return Outcome(
            INCONCLUSIVE,
            f"unequal budgets: {positive.max_steps:,} against {negative.max_steps:,} steps",
            cells,
        )
    threshold = rules.near_perfect
    if positive.status(threshold) != SOLVED:
        return Outcome(INCONCLUSIVE, f"positive control {positive.name} not solved", cells)
    status = negative.status(threshold)
    if status == SOLVED:
        return Outcome(NOT_REPRODUCED, f"{negative.name} is solved too", cells)
    if status == BORDERLINE:
        return Outcome(
            INCONCLUSIVE, f"the interval of {negative.name} overlaps the threshold", cells
        )
    if negative.improving:
        return Outcome(
            INCONCLUSIVE, f"{negative.name} was still improving at the end of its budget", cells
        )
    if negative.at_edge:
        return Outcome(
            INCONCLUSIVE,
            f"the best learning rate of {negative.name} is at the edge of its grid",
            cells,
        )
    return Outcome(REPRODUCED, "", cells)


def _join(outcomes: list[Outcome]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for outcome in outcomes:
        for cell in outcome.cells:
            seen.setdefault(cell)
    return tuple(seen)


def _reasons(outcomes: list[Outcome]) -> str:
    return "; ".join(dict.fromkeys(o.reason for o in outcomes if o.reason))


def _combine(outcomes: list[Outcome], need_every: bool) -> Outcome:
    """Untested cells are set aside; any *not reproduced* decides; then ``need_every`` asks for
    every tested cell reproduced, otherwise one reproduced cell suffices."""
    tested = [o for o in outcomes if o.verdict != NOT_TESTED]
    cells = _join(tested)
    if not tested:
        return Outcome(NOT_TESTED, _reasons(outcomes) or "the sweep lacks the cells")
    against = [o for o in tested if o.verdict == NOT_REPRODUCED]
    if against:
        return Outcome(NOT_REPRODUCED, _reasons(against), cells)
    rest = [o for o in tested if o.verdict != REPRODUCED]
    if need_every and not rest:
        untested = len(outcomes) - len(tested)
        return Outcome(
            REPRODUCED, f"{untested} of its cells not in the sweep" if untested else "", cells
        )
    if not need_every and len(rest) < len(tested):
        reason = ("elsewhere inconclusive: " + _reasons(rest)) if rest else ""
        return Outcome(REPRODUCED, reason, cells)
    return Outcome(INCONCLUSIVE, _reasons(rest), cells)


def decided_by_any(outcomes: list[Outcome]) -> Outcome:
    """A claim tested at several cells, decided by its decisive ones (see the module doc)."""
    return _combine(outcomes, need_every=False)


def every(outcomes: list[Outcome]) -> Outcome:
    """A claim that must hold at every one of its cells."""
    return _combine(outcomes, need_every=True)


def upper_bound(holds: bool | None, reason: str = "", cells: tuple[str, ...] = ()) -> Outcome:
    """An upper-bound theorem ("this much suffices"): consistent, violated, or not tested."""
    if holds is None:
        return Outcome(NOT_TESTED, reason, cells)
    return Outcome(CONSISTENT if holds else VIOLATED, reason, cells)


# -- width scaling (the critical-width study) -------------------------------------------------

#: the slope of log(width) against log(N) below which growth counts as logarithmic (its
#: interval's upper end), and above which it counts as polynomial (its interval's lower end)
LOG_SLOPE_MAX = 0.5
POLY_SLOPE_MIN = 0.5
#: points (lengths) a slope needs to be fitted with an interval
MIN_SLOPE_POINTS = 3


@dataclass(frozen=True)
class Slope:
    """A fitted log-log slope with its interval; ``lower_bound`` when capped points entered it
    (then only its lower end means something)."""

    slope: float
    low: float
    high: float
    points: int
    lower_bound: bool = False

    def text(self) -> str:
        bound = " (lower bound)" if self.lower_bound else ""
        return f"{self.slope:.2f} [{self.low:.2f}, {self.high:.2f}]{bound}"


def loglog_slope(points: Iterable[tuple[float, float]], confidence: float = 0.95) -> Slope | None:
    """Least-squares slope of log2(width) on log2(N) with its Student-t interval (n - 2 degrees
    of freedom); None with fewer than two distinct N. The fit is ``scipy.stats.linregress``'s,
    computed here with numpy and scipy.special (importing scipy.stats costs every figure and
    report process most of a second; tests check the two agree to the last bit)."""
    import numpy as np
    from scipy import special

    pts = sorted((float(n), float(w)) for n, w in points)
    if len({n for n, _ in pts}) < 2:
        return None
    x = np.log2([n for n, _ in pts])
    y = np.log2([w for _, w in pts])
    if len(pts) == 2:
        slope = float((y[1] - y[0]) / (x[1] - x[0]))
        return Slope(slope, -np.inf, np.inf, 2)
    if float(np.ptp(y)) == 0.0:  # the same width at every N: slope 0, no spread
        return Slope(0.0, 0.0, 0.0, len(pts))
    slope, stderr = _least_squares(x, y)
    half = float(special.stdtrit(len(pts) - 2, 0.5 + confidence / 2) * stderr)
    return Slope(slope, slope - half, slope + half, len(pts))


def _least_squares(x, y) -> tuple[float, float]:
    """Slope of y on x and its standard error: slope = cov(x, y) / var(x), stderr =
    sqrt((1 - r^2) var(y) / var(x) / (n - 2)), r the correlation (clipped to [-1, 1])."""
    import numpy as np

    var_x, cov_xy, _, var_y = np.cov(x, y, bias=1).flat
    r = 0.0 if var_x * var_y == 0 else float(np.clip(cov_xy / np.sqrt(var_x * var_y), -1.0, 1.0))
    slope = cov_xy / var_x
    stderr = np.sqrt((1 - r**2) * var_y / var_x / (len(x) - 2))
    return float(slope), float(stderr)


def family_slope(
    points: Iterable[tuple[int, int, bool]], confidence: float = 0.95
) -> tuple[Slope | None, str]:
    """The slope of one family's (N, critical width, capped) points, or None with the reason.

    Capped points (never solved below the cap) enter at the cap, as lower bounds. Raising a point
    whose log N lies above the mean log N can only raise the least-squares slope, so when every
    capped point lies above the mean log N the fitted slope is a lower bound on the slope (its
    lower end is the bound that counts). Capped points elsewhere (at small N) would bias it either
    way: no slope. Every point capped: no slope (nothing was solved below the cap)."""
    import numpy as np

    pts = sorted(points)
    capped = [p for p in pts if p[2]]
    if len(pts) < MIN_SLOPE_POINTS:
        return None, f"{len(pts)} length(s), too few to fit a slope (needs {MIN_SLOPE_POINTS})"
    if len(capped) == len(pts):
        return None, "never solved below the cap"
    fit = loglog_slope([(n, w) for n, w, _ in pts], confidence)
    if fit is None:
        return None, "fewer than two distinct N"
    if capped:
        mean = float(np.mean(np.log2([n for n, _, _ in pts])))
        if any(np.log2(n) <= mean for n, _, _ in capped):
            return None, "capped at a small N (a lower bound there cannot bound the slope)"
        fit = Slope(fit.slope, fit.low, fit.high, fit.points, lower_bound=True)
    return fit, ""


def width_scaling(
    transformer: list[tuple[int, int, bool]] | None,
    recurrent: dict[str, list[tuple[int, int, bool]]],
    *,
    confidence: float = 0.95,
    log_max: float = LOG_SLOPE_MAX,
    poly_min: float = POLY_SLOPE_MIN,
) -> Outcome:
    """P1-WIDTH-SCALING: the Transformer's critical width grows at most logarithmically in N,
    every recurrent family's at least polynomially.

    Points are (N, critical width, capped) per family. *Positive control*: the Transformer must
    be solved below the cap at every N (else inconclusive). Transformer logarithmic: its slope's
    upper end < ``log_max``; clearly polynomial (lower end > ``log_max``): not reproduced.
    A recurrent family is polynomial when its slope's lower end > ``poly_min`` (capped points as
    lower bounds, :func:`family_slope`), clearly sub-polynomial when it has no capped point and its
    upper end < ``poly_min``. Reproduced: Transformer logarithmic and every recurrent family
    polynomial. Not reproduced: Transformer logarithmic and some recurrent family sub-polynomial
    (or the Transformer clearly polynomial). Inconclusive otherwise, with the reasons."""
    if not transformer:
        return Outcome(NOT_TESTED, "no Transformer critical widths")
    if not recurrent:
        return Outcome(NOT_TESTED, "no recurrent critical widths")
    texts = []
    tf_capped = [n for n, _, c in transformer if c]
    if tf_capped:
        lengths = ", ".join(str(n) for n in sorted(tf_capped))
        return Outcome(
            INCONCLUSIVE,
            "positive control failed: the Transformer is not solved below the cap at "
            f"N = {lengths}",
        )
    tf, why = family_slope(transformer, confidence)
    if tf is None:
        return Outcome(INCONCLUSIVE, f"Transformer: {why}")
    texts.append(f"Transformer slope {tf.text()}")
    if tf.low > log_max:
        return Outcome(
            NOT_REPRODUCED,
            f"the Transformer's width grows polynomially ({tf.text()})",
            tuple(texts),
        )
    reasons, against = [], []
    if tf.high >= log_max:
        reasons.append(f"the Transformer's slope interval reaches {log_max} ({tf.text()})")
    for family, pts in sorted(recurrent.items()):
        fit, why = family_slope(pts, confidence)
        if fit is None:
            reasons.append(f"{family}: {why}")
            continue
        texts.append(f"{family} slope {fit.text()}")
        if fit.low > poly_min:
            continue
        if not fit.lower_bound and fit.high < poly_min:
            against.append(f"{family} grows sub-polynomially ({fit.text()})")
        else:
            reasons.append(f"{family}: slope interval overlaps {poly_min} ({fit.text()})")
    if against and tf.high < log_max:
        return Outcome(NOT_REPRODUCED, "; ".join(against), tuple(texts))
    reasons = against + reasons
    if reasons:
        return Outcome(INCONCLUSIVE, "; ".join(reasons), tuple(texts))
    return Outcome(REPRODUCED, "", tuple(texts))
