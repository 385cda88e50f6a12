"""Paper 1's claims (Bhattamishra et al., 2024), checked on the training metrics.

Each check reads the best-over-learning-rate table of the ``metrics`` results
(:func:`separations.summary.best_over_lr`).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ..models import FAMILIES
from ..summary import best_over_lr
from .base import CONTRADICTED, NOT_TESTED, PARTLY, SUPPORTED, Claim, Verdict, pct


def is_recurrent(model: str) -> bool:
    return model in FAMILIES and FAMILIES[model].recurrent


def idx_lookup(results: Mapping[str, pd.DataFrame]) -> Verdict:
    """P1-IDX: TF-(1, 64) solves Index Lookup at every N; recurrent models fail beyond N≈100."""
    metrics = results["metrics"]
    idx = best_over_lr(metrics[metrics["task"] == "idxl"])
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
