"""The papers' claims as checks on our results: each claim computes its verdict from the results.

A claim's check receives the loaded result tables by name (the keys of ``results`` in
config.yaml, e.g. ``metrics``) and returns what our results show and a verdict. Verdicts are
never typed by hand; a claim whose result table or cells are absent is "not tested".
Add a claim: write the check in the module of its paper and list it in that module's CLAIMS.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from . import constructions, paper1, paper2
from .base import CONTRADICTED, NOT_TESTED, PARTLY, SUPPORTED, Claim, Verdict

CLAIMS: list[Claim] = [*paper1.CLAIMS, *constructions.CLAIMS, *paper2.CLAIMS]


def evaluate(results: Mapping[str, pd.DataFrame]) -> list[tuple[Claim, Verdict]]:
    out = []
    for claim in CLAIMS:
        missing = [name for name in claim.needs if name not in results]
        if missing:
            verdict = Verdict(f"no results for {', '.join(missing)}", NOT_TESTED)
        else:
            verdict = claim.check(results)
        out.append((claim, verdict))
    return out


__all__ = [
    "CLAIMS",
    "CONTRADICTED",
    "NOT_TESTED",
    "PARTLY",
    "SUPPORTED",
    "Claim",
    "Verdict",
    "evaluate",
]
