"""The papers' claims as checks on our results: each claim computes its verdict from the metrics.

A claim is a function of the best-over-learning-rate table (see :mod:`separations.summary`) that
returns what our results show and a verdict. Verdicts are never typed by hand; a claim whose cells
the sweep lacks is "not tested". Add a claim by writing a function and registering it in CLAIMS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from .models import FAMILIES

SUPPORTED, CONTRADICTED, PARTLY, NOT_TESTED = "supported", "contradicted", "partly", "not tested"


@dataclass(frozen=True)
class Verdict:
    ours: str
    verdict: str


@dataclass(frozen=True)
class Claim:
    id: str
    statement: str
    paper: str
    check: Callable[[pd.DataFrame], Verdict]


def pct(x: float) -> str:
    return f"{100 * x:.1f}\\%"


def is_recurrent(model: str) -> bool:
    return model in FAMILIES and FAMILIES[model].recurrent


def idx_lookup(best: pd.DataFrame) -> Verdict:
    """P1-IDX: TF-(1, 64) solves Index Lookup at every N; recurrent models fail beyond N≈100."""
    idx = best[best["task"] == "idxl"]
    tf = idx[(idx["model"] == "transformer") & (idx["depth"] == 1) & (idx["width"] == 64)]
    tf = tf.groupby("length")["acc"].max()
    rec = idx[idx["model"].map(is_recurrent)]
    long = rec[rec["length"] > 100]
    if tf.empty or long.empty:
        return Verdict("the sweep lacks TF-(1, 64) or recurrent models beyond N = 100", NOT_TESTED)
    threshold = float(idx["threshold"].max())
    tf_ok = bool((tf >= threshold).all())
    rec_fail = bool((long["acc"] < threshold).all())
    top = long.sort_values("acc").groupby("length").tail(1)
    rec_text = ", ".join(
        f"{r.label} {pct(r.acc)} at N = {r.length}" for r in top.sort_values("length").itertuples()
    )
    ours = (
        f"TF-(1, 64): at least {pct(tf.min())} at every N in {min(tf.index)}..{max(tf.index)}; "
        f"best recurrent model beyond N = 100: {rec_text}"
    )
    verdict = SUPPORTED if tf_ok and rec_fail else (PARTLY if tf_ok or rec_fail else CONTRADICTED)
    return Verdict(ours, verdict)


CLAIMS: list[Claim] = [
    Claim(
        "P1-IDX",
        "A 1-layer Transformer of width O(log N) performs Index Lookup; recurrent models need "
        "width Omega(N).",
        "TF-(1, 64) near-perfect at every N in 20..400; LSTM, DSS, Mamba, RetNet and linear "
        "Transformers degrade beyond N = 100 at every learning rate.",
        idx_lookup,
    ),
]


def evaluate(best: pd.DataFrame) -> list[tuple[Claim, Verdict]]:
    return [(claim, claim.check(best)) for claim in CLAIMS]
