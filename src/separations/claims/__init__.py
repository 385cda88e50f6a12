"""The papers' claims as checks on our results: each claim computes its verdict from the results.

A claim's check receives the loaded result tables by name (the keys of ``results`` in
config.yaml, e.g. ``metrics``) and the verdict settings (config.yaml ``verdicts``), and returns
our evidence, the verdict, its reason and the budget. The rules are in :mod:`.rules`; verdicts are
never typed by hand; a claim whose result table or cells are absent is "not tested".
Add a claim: write the check in the module of its paper and list it in that module's CLAIMS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from . import constructions, paper1, paper2, recall
from .base import DEFAULT_SETTINGS, Claim, Verdict
from .rules import (
    CONSISTENT,
    INCONCLUSIVE,
    NOT_REPRODUCED,
    NOT_TESTED,
    REPRODUCED,
    VERDICTS,
    VIOLATED,
)

CLAIMS: list[Claim] = [*paper1.CLAIMS, *constructions.CLAIMS, *paper2.CLAIMS, *recall.CLAIMS]


def evaluate(
    results: Mapping[str, pd.DataFrame], settings: Mapping[str, Any] | None = None
) -> list[tuple[Claim, Verdict]]:
    """Every claim's verdict; claims share one cache of per-task cells."""
    settings = settings or DEFAULT_SETTINGS
    shared = {**results, "_cells": {}}
    out = []
    for claim in CLAIMS:
        missing = [name for name in claim.needs if name not in results]
        if missing:
            verdict = Verdict("none", NOT_TESTED, reason=f"no results for {', '.join(missing)}")
        else:
            verdict = claim.check(shared, settings)
        out.append((claim, verdict))
    return out


__all__ = [
    "CLAIMS",
    "CONSISTENT",
    "DEFAULT_SETTINGS",
    "INCONCLUSIVE",
    "NOT_REPRODUCED",
    "NOT_TESTED",
    "REPRODUCED",
    "VERDICTS",
    "VIOLATED",
    "Claim",
    "Verdict",
    "evaluate",
]
