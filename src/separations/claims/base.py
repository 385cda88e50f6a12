"""What a claim is and what a check returns."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pandas as pd

SUPPORTED, CONTRADICTED, PARTLY, NOT_TESTED = "supported", "contradicted", "partly", "not tested"


@dataclass(frozen=True)
class Verdict:
    ours: str  # what our results show (LaTeX allowed)
    verdict: str  # one of SUPPORTED, CONTRADICTED, PARTLY, NOT_TESTED
    #: values the paper text quotes, as \result{<claim id>-<key>}
    numbers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Claim:
    id: str
    statement: str
    paper: str  # what the paper reports
    check: Callable[[Mapping[str, pd.DataFrame]], Verdict]
    needs: tuple[str, ...] = ("metrics",)  # result tables the check reads


def pct(x: float) -> str:
    """A fraction as a percentage for LaTeX; a value that rounds to zero prints as 0.0, not -0.0."""
    return f"{round(100 * x, 1) + 0.0:.1f}\\%"
