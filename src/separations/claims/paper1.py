"""Paper 1's claims (Bhattamishra et al., 2024), checked on the training metrics.

Each check reads the best-over-learning-rate table of the ``metrics`` results
(:func:`separations.summary.best_over_lr`) and combines sub-checks: a claim is supported when every
sub-check its cells allow holds, contradicted when none does, partly otherwise, and not tested when
the sweep has none of the cells.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ..models import FAMILIES
from ..summary import best_over_lr
from .base import CONTRADICTED, NOT_TESTED, PARTLY, SUPPORTED, Claim, Verdict, pct

#: a curve "degrades" / a wider model is "far below" when it trails by at least this much
MARGIN = 0.10


def is_recurrent(model: str) -> bool:
    return model in FAMILIES and FAMILIES[model].recurrent


def table(results: Mapping[str, pd.DataFrame], task: str) -> pd.DataFrame:
    metrics = results["metrics"]
    return best_over_lr(metrics[metrics["task"] == task])


def pick(best: pd.DataFrame, model: str, depth: int | None = None, width: int | None = None):
    """Accuracy by N of one model shape (best over heads), as a Series."""
    rows = best[best["model"] == model]
    if depth is not None:
        rows = rows[rows["depth"] == depth]
    if width is not None:
        rows = rows[rows["width"] == width]
    return rows.groupby("length")["acc"].max()


def threshold_of(best: pd.DataFrame) -> float:
    return float(best["threshold"].max()) if not best.empty else 0.99


def combine(parts: list[tuple[str, bool | None]]) -> Verdict:
    """Sub-checks (text, holds?) -> verdict; None means the sweep lacks the cells."""
    tested = [ok for _, ok in parts if ok is not None]
    text = "; ".join(t for t, _ in parts)
    if not tested:
        return Verdict(text or "the sweep lacks the cells", NOT_TESTED)
    if all(tested):
        return Verdict(text, SUPPORTED if len(tested) == len(parts) else PARTLY)
    return Verdict(text, CONTRADICTED if not any(tested) else PARTLY)


def series_text(label: str, accs: pd.Series) -> str:
    return f"{label}: " + ", ".join(f"{pct(a)} at N = {n}" for n, a in accs.items())


def near_perfect_everywhere(label: str, accs: pd.Series, threshold: float):
    if accs.empty:
        return (f"{label}: not in sweep", None)
    return (series_text(label, accs), bool((accs >= threshold).all()))


def idx_lookup(results: Mapping[str, pd.DataFrame]) -> Verdict:
    """P1-IDX: TF-(1, 64) solves Index Lookup at every N; recurrent models fail beyond N≈100."""
    best = table(results, "idxl")
    threshold = threshold_of(best)
    parts = [near_perfect_everywhere("TF-(1, 64)", pick(best, "transformer", 1, 64), threshold)]
    long = best[best["model"].map(is_recurrent) & (best["length"] > 100)]
    if long.empty:
        parts.append(("recurrent models beyond N = 100: not in sweep", None))
    else:
        top = long.sort_values("acc").groupby("length").tail(1).sort_values("length")
        text = "best recurrent model beyond N = 100: " + ", ".join(
            f"{r.label} {pct(r.acc)} at N = {r.length}" for r in top.itertuples()
        )
        parts.append((text, bool((long["acc"] < threshold).all())))
    return combine(parts)


def mamba_width(results: Mapping[str, pd.DataFrame]) -> Verdict:
    """P1-MAMBA-WIDTH: 2-layer Mamba accuracy rises with width, yet stays far below TF-(1, 64)."""
    best = table(results, "idxl")
    mamba = best[(best["model"] == "mamba") & (best["depth"] == 2)]
    if mamba["width"].nunique() < 2:
        return Verdict("the sweep lacks 2-layer Mamba at two or more widths", NOT_TESTED)
    grid = mamba.pivot_table(index="width", columns="length", values="acc", aggfunc="max")
    rises = [bool((grid[n].dropna().diff().dropna() >= -0.02).all()) for n in grid.columns]
    widest = grid.iloc[-1]
    parts = [
        (
            f"accuracy non-decreasing in width (2-point tolerance) at {sum(rises)} of {len(rises)} "
            f"lengths; Mamba-(2, {grid.index[-1]}): "
            + ", ".join(f"{pct(a)} at N = {n}" for n, a in widest.dropna().items()),
            all(rises),
        )
    ]
    tf = pick(best, "transformer", 1, 64)
    common = [n for n in widest.dropna().index if n in tf.index]
    if common:
        n = max(common)
        gap = float(tf[n] - widest[n])
        parts.append(
            (f"at N = {n} TF-(1, 64) leads the widest Mamba by {pct(gap)}", bool(gap >= MARGIN))
        )
    else:
        parts.append(("TF-(1, 64) at the same lengths: not in sweep", None))
    return combine(parts)


def dyck(results: Mapping[str, pd.DataFrame]) -> Verdict:
    """P1-DYCK: small recurrent models and 2-layer TFs solve bounded Dyck; 1-layer TFs struggle
    beyond N = 100."""
    best = table(results, "dyck")
    threshold = threshold_of(best)
    parts = [
        near_perfect_everywhere("LSTM-(1, 64)", pick(best, "lstm", 1, 64), threshold),
        near_perfect_everywhere("Mamba-(1, 64)", pick(best, "mamba", 1, 64), threshold),
        near_perfect_everywhere("TF-(2, 64)", pick(best, "transformer", 2, 64), threshold),
    ]
    one = best[(best["model"] == "transformer") & (best["depth"] == 1)]
    one = one.groupby("length")["acc"].max()
    short, long = one[one.index <= 100], one[one.index > 100]
    if not short.empty:
        parts.append(near_perfect_everywhere("1-layer TF up to N = 100", short, threshold))
    if long.empty:
        parts.append(("1-layer TF beyond N = 100: not in sweep", None))
    else:
        parts.append(
            (series_text("1-layer TF beyond N = 100", long), bool((long < threshold).any()))
        )
    return combine(parts)


def equality(results: Mapping[str, pd.DataFrame]) -> Verdict:
    """P1-EQ: TFs solve Eq-random and Eq-ncp; LSTMs struggle on Eq-random beyond 100; Eq-one is
    easy for all."""
    parts = []
    for task in ("eq-random", "eq-ncp"):
        best = table(results, task)
        tf = best[best["model"] == "transformer"].groupby("length")["acc"].max()
        parts.append(near_perfect_everywhere(f"{task}, best TF", tf, threshold_of(best)))
    best = table(results, "eq-random")
    lstm = pick(best, "lstm")
    long = lstm[lstm.index > 100]
    if long.empty:
        parts.append(("eq-random, LSTM beyond N = 100: not in sweep", None))
    else:
        parts.append(
            (
                series_text("eq-random, best LSTM beyond N = 100", long),
                bool((long < threshold_of(best)).any()),
            )
        )
    best = table(results, "eq-one")
    if best.empty:
        parts.append(("eq-one: not in sweep", None))
    else:
        worst = best.groupby("label")["acc"].min()
        parts.append(
            (
                "eq-one, worst length per model: "
                + ", ".join(f"{k} {pct(v)}" for k, v in worst.items()),
                bool((worst >= threshold_of(best)).all()),
            )
        )
    return combine(parts)


def nearest_neighbour(results: Mapping[str, pd.DataFrame]) -> Verdict:
    """P1-NN (beyond the paper): a 2-layer TF classifies by nearest neighbour in context; 1-layer
    TFs and recurrent models fall behind as N grows."""
    best = table(results, "nn")
    if best.empty:
        return Verdict("the sweep has no nearest-neighbour cells", NOT_TESTED)
    threshold = threshold_of(best)
    two = best[(best["model"] == "transformer") & (best["depth"] >= 2)].groupby("length")["acc"]
    two = two.max()
    parts = [near_perfect_everywhere("best TF with 2+ layers", two, threshold)]
    n_max = int(best["length"].max())
    at_max = best[best["length"] == n_max]
    others = at_max[(at_max["model"] != "transformer") | (at_max["depth"] == 1)]
    if others.empty or n_max not in two.index:
        parts.append(("1-layer TF / recurrent models at the largest N: not in sweep", None))
    else:
        lead = float(two[n_max] - others["acc"].max())
        parts.append(
            (
                f"at N = {n_max} the 2-layer TF leads every 1-layer TF and recurrent model "
                f"by {pct(lead)}",
                bool(lead >= MARGIN),
            )
        )
    return combine(parts)


CLAIMS: list[Claim] = [
    Claim(
        "P1-IDX",
        "A 1-layer Transformer of width O(log N) performs Index Lookup; recurrent models need "
        "width Omega(N).",
        "TF-(1, 64) near-perfect at every N in 20..400; LSTM, DSS, Mamba, RetNet and linear "
        "Transformers degrade beyond N = 100 at every learning rate.",
        idx_lookup,
    ),
    Claim(
        "P1-MAMBA-WIDTH",
        "Recurrent width must grow with N.",
        "2-layer Mamba, widths 32..1024: accuracy rises with width, but even width 1024 is far "
        "below TF-(1, 64).",
        mamba_width,
    ),
    Claim(
        "P1-DYCK",
        "Constant-size recurrent models recognise bounded Dyck; a 1-layer Transformer needs "
        "width Omega(N).",
        "LSTM-64, Mamba-64 and TF-(2, 64) near-perfect up to N = 400; 1-layer TF of width 256 "
        "near-perfect up to N = 100, struggling above.",
        dyck,
    ),
    Claim(
        "P1-EQ",
        "2-layer Transformers of log size do string equality; 1-layer TFs and RNNs need linear "
        "size.",
        "Eq-random: TF near-perfect to 400, LSTM struggles beyond 100; Eq-one: all near-perfect; "
        "Eq-ncp: TF near-perfect.",
        equality,
    ),
    Claim(
        "P1-NN",
        "2-layer Transformers of log width classify by nearest neighbour in context; 1-layer TFs "
        "and RNNs need linear width.",
        "Theory only (no experiment in the paper).",
        nearest_neighbour,
    ),
]
