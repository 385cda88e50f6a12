"""Theorem 1 of paper 1 executed with hand-set weights: claims checked on the constructions table.

The table is ``results/constructions/metrics.parquet`` (:mod:`separations.constructions.sweep`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from ..constructions.summary import (
    bits_needed,
    eta_needed,
    loglog_slope,
    orthogonality_widths,
    overflow_eta,
    smallest_widths,
)
from .base import Claim, Verdict
from .rules import INCONCLUSIVE, NOT_TESTED, Outcome, upper_bound

#: k / log2 N may vary by at most this factor across N for "logarithmic" growth
LOG_RATIO = 2.0
#: and the log-log slope of k against N must stay below this (1 is linear growth)
MAX_SLOPE = 0.5
#: Lemma 2's k is fitted from this N on (below, k is dominated by the constant)
MIN_FIT_N = 100


def _num(x: float) -> str:
    """A number for LaTeX text: powers of ten from 10^4 on as $10^{n}$."""
    if x >= 1e4 and math.log10(x).is_integer():
        return f"$10^{{{int(math.log10(x))}}}$"
    return f"{x:g}"


def _growth(part: pd.DataFrame) -> tuple[float, float]:
    """(log-log slope of k against N, spread max/min of k / log2 N)."""
    ratio = part["k"] / part["length"].map(math.log2)
    return loglog_slope(part["length"], part["k"]), float(ratio.max() / ratio.min())


def _first_softmax_search(widths: pd.DataFrame) -> pd.DataFrame:
    soft = widths[widths["attention"] == "softmax"]
    if soft.empty:
        return soft
    return soft[soft["search"] == soft["search"].iloc[0]]


def log_width(results: Mapping[str, pd.DataFrame], settings=None) -> Verdict:
    """The smallest width with 100% accuracy grows like log N (and Lemma 2's k does too)."""
    df = results["constructions"]
    widths = _first_softmax_search(smallest_widths(df))
    lemma = orthogonality_widths(df)
    if widths.empty:
        return Verdict(
            "none", NOT_TESTED, reason="the constructions table has no softmax width search"
        )
    missing = sorted(int(n) for n in widths.loc[~widths["found"], "length"])
    found = widths[widths["found"]]
    slope, spread = _growth(found) if len(found) >= 2 else (math.nan, math.nan)
    big = found.loc[found["length"].idxmax()] if not found.empty else None
    numbers = {
        "n-lengths": str(len(widths)),
        "n-min": f"{int(widths['length'].min()):,}",
        "n-max": f"{int(widths['length'].max()):,}",
        "slope": f"{slope:.2f}",
        "spread": f"{spread:.2f}",
        # cost of the whole constructions sweep (its checks and evaluations), for the text
        "cpu-minutes": f"{df['cpu_time'].sum() / 60:.1f}",
    }
    parts = []
    if big is not None:
        n = int(big["length"])
        numbers.update(
            {
                "k-at-max": str(int(big["k"])),
                "width-at-max": str(int(big["width"])),
                "k-per-log": f"{big['k'] / math.log2(n):.1f}",
                "bound32-at-max": f"{n / 32:,.0f}",
            }
        )
        parts.append(
            f"softmax construction 100\\% accurate with k = {int(big['k'])} "
            f"(model width {int(big['width'])}) at N = {n:,}, against a recurrent lower bound "
            f"N/32 = {n / 32:,.0f}; k grows with log-log slope {slope:.2f} and k / log2 N "
            f"varies by a factor {spread:.2f} over N = {int(found['length'].min()):,}.."
            f"{n:,}"
        )
    lemma_ok = lemma[lemma["found"] & (lemma["length"] >= MIN_FIT_N)]
    if len(lemma_ok) >= 2:
        l_slope, l_spread = _growth(lemma_ok)
        top = lemma_ok.loc[lemma_ok["length"].idxmax()]
        numbers.update(
            {
                "lemma-k-at-max": str(int(top["k"])),
                "lemma-n-max": f"{int(top['length']):,}",
                "lemma-slope": f"{l_slope:.2f}",
                "lemma-k-per-ln": f"{top['k'] / math.log(top['length']):.0f}",
            }
        )
        parts.append(
            f"Lemma 2 (all pairs $\\le 1/4$) needs k = {int(top['k'])} at N = "
            f"{int(top['length']):,} (k / ln N = {top['k'] / math.log(top['length']):.0f}, "
            f"log-log slope {l_slope:.2f})"
        )
    # the other attention kinds' smallest widths, next to softmax's (the text compares them)
    every = smallest_widths(df)
    for kind in ("hard", "linear"):
        other = every[(every["attention"] == kind) & every["found"]]
        if not other.empty:
            top = other.loc[other["length"].idxmax()]
            numbers[f"{kind}-n-max"] = f"{int(top['length']):,}"
            numbers[f"{kind}-k-at-n-max"] = str(int(top["k"]))
            same = widths[widths["found"] & (widths["length"] == top["length"])]
            if not same.empty:
                numbers[f"softmax-k-at-{kind}-n-max"] = str(int(same["k"].iloc[0]))
    guaranteed = df[(df["study"] == "lemma_width") & (df["attention"] == "softmax")]
    if not guaranteed.empty:  # Theorem 1's own regime: vectors 1/4-orthogonal, eta = 2 ln 3N
        numbers["lemma-softmax-min-acc"] = f"{100 * guaranteed['accuracy'].min():.1f}\\%"
        numbers["lemma-eval-n-max"] = f"{int(guaranteed['length'].max()):,}"
    if missing:
        parts.append(f"no width up to the cap reached 100\\% at N = {missing}")
    logarithmic = slope < MAX_SLOPE and spread <= LOG_RATIO
    # the theorem's own regime (Lemma 2's vectors, eta = 2 ln 3N) must be exact: else violated
    theorem_exact = guaranteed.empty or bool((guaranteed["accuracy"] >= 1.0).all())
    if not theorem_exact:
        outcome = upper_bound(False, "Theorem 1's construction at Lemma 2's width is not exact")
    elif missing:
        outcome = Outcome(
            INCONCLUSIVE, f"no width up to the search's cap is exact at N = {missing}"
        )
    elif logarithmic:
        outcome = upper_bound(True, f"log-log slope {slope:.2f}, below {MAX_SLOPE}")
    else:
        outcome = Outcome(
            INCONCLUSIVE, f"k grows faster than log N here (slope {slope:.2f}, spread {spread:.2f})"
        )
    return Verdict("; ".join(parts), outcome.verdict, numbers, outcome.reason)


def precision_grows(results: Mapping[str, pd.DataFrame], settings=None) -> Verdict:
    """Does the construction need more precision as N grows?

    Two measures, both at the smallest softmax width: the fewest mantissa bits (every activation
    rounded) with 100% accuracy, and the smallest η (the range the scores must reach) with 100%
    in float64. Supported if the bits grow with N; partly if only η does (floating point then
    needs only exponent range, log log N bits); contradicted if neither grows.
    """
    df = results["constructions"]
    bits = bits_needed(df).dropna()
    etas = eta_needed(df).dropna()
    if len(bits) < 2 and len(etas) < 2:
        return Verdict(
            "none", NOT_TESTED, reason="the constructions table has no precision grid at two N"
        )
    numbers: dict[str, str] = {}
    parts = []

    def grows(series: pd.Series) -> bool:
        values = series.sort_index().to_numpy()
        return (
            len(values) >= 2
            and bool((values[1:] >= values[:-1]).all())
            and (values[-1] > values[0])
        )

    if len(bits) >= 2:
        lo, hi = bits.index.min(), bits.index.max()
        numbers.update(
            {
                "bits-min-n": f"{int(bits[lo])}",
                "bits-max-n": f"{int(bits[hi])}",
                "bits-max": f"{int(bits.max())}",
                "n-lo": f"{lo:,}",
                "n-hi": f"{hi:,}",
            }
        )
        per_n = ", ".join(f"{int(v)} at N = {n:,}" for n, v in bits.sort_index().items())
        parts.append(f"mantissa bits needed: {per_n}")
    if len(etas) >= 2:
        per_n = ", ".join(f"{_num(v)} at N = {n:,}" for n, v in etas.sort_index().items())
        eta_lo, eta_hi = etas[etas.index.min()], etas[etas.index.max()]
        numbers.update(
            {
                "eta-lo": _num(eta_lo),
                "eta-hi": _num(eta_hi),
                # the verb is computed from the two values it describes
                "eta-verb": "larger at the largest N" if eta_hi > eta_lo else "not larger",
            }
        )
        parts.append(f"smallest sufficient $\\eta$ (float64): {per_n}")
    at_width = df[(df["study"] == "precision") & (df["search"] == "precision")]
    floats = at_width[at_width["precision"].isin(["float64", "float32", "bfloat16", "float16"])]
    for kind in ("softmax", "hard", "linear"):
        part = floats[floats["attention"] == kind]
        if not part.empty:
            numbers[f"{kind}-float-min-acc"] = f"{100 * part['accuracy'].min():.1f}\\%"
            numbers[f"{kind}-float-max-acc"] = f"{100 * part['accuracy'].max():.1f}\\%"
    for name in ("float16", "bfloat16"):
        eta = overflow_eta(df, name)
        if not math.isnan(eta):
            numbers[f"overflow-{name}"] = _num(eta)
            parts.append(f"{name} overflows from $\\eta$ = {_num(eta)}")
    # Theorem 1 is an upper bound: O(log N) bits suffice. Violated only if the bits needed grow
    # faster than log2 N (more than one extra bit per doubling of N, plus one of slack).
    if len(bits) >= 2:
        lo, hi = bits.index.min(), bits.index.max()
        allowed = math.log2(hi) - math.log2(lo) + 1
        grew = float(bits[hi] - bits[lo])
        outcome = upper_bound(
            grew <= allowed,
            f"bits needed grew by {grew:.0f} from N = {lo:,} to {hi:,}; O(log N) allows "
            f"{allowed:.0f}",
        )
    else:
        outcome = Outcome(NOT_TESTED, "mantissa bits measured at fewer than two N")
    numbers["grows"] = "grows" if grows(bits) else "does not grow"
    return Verdict("; ".join(parts), outcome.verdict, numbers, outcome.reason)


CLAIMS: list[Claim] = [
    Claim(
        "T1-WIDTH",
        "Log-width upper bound holds in practice: a 1-layer Transformer of width O(log N) does "
        "Index Lookup (Theorem 1).",
        "Proof only: width log2(alphabet) + 2k with k = O(log N) nearly orthogonal position "
        "vectors; recurrent models need width N/p (Theorem 3).",
        log_width,
        needs=("constructions",),
    ),
    Claim(
        "T1-PRECISION",
        "Theorem 1's construction needs at most O(log N) bits of precision (an upper bound).",
        "Proof only: eta = Theta(log N) and O(log N) bits of precision.",
        precision_grows,
        needs=("constructions",),
    ),
]
