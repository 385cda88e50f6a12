"""What a claim is and what a check returns."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..summary import Protocol
from .rules import INCONCLUSIVE, NOT_REPRODUCED, NOT_TESTED, REPRODUCED, Evidence, Outcome, Rules

#: the verdict settings used when none are given (config.yaml, ``verdicts``)
DEFAULT_SETTINGS: dict[str, Any] = {
    "confidence": 0.95,
    "near_perfect": {"paper1": 0.99, "paper2": 0.95},
    "edge_tolerance": 0.02,
    "improving_tolerance": 0.02,
    "min_seeds": 3,
    "min_learning_rates": 3,
}


@dataclass(frozen=True)
class Verdict:
    ours: str  # our evidence: the cells used, with intervals (LaTeX allowed)
    verdict: str  # one of claims.rules.VERDICTS
    #: values the paper text quotes, as \result{<claim id>-<key>}
    numbers: dict[str, str] = field(default_factory=dict)
    reason: str = ""  # why, when the verdict is not plain (inconclusive, not tested, ...)
    budget: str = ""  # steps x learning rates x seeds, CPU minutes

    @classmethod
    def of(cls, outcome: Outcome, numbers=None, budget: str = "", ours: str = "") -> Verdict:
        return cls(
            ours or "; ".join(outcome.cells) or "none",
            outcome.verdict,
            dict(numbers or {}),
            outcome.reason,
            budget,
        )


@dataclass(frozen=True)
class Claim:
    id: str
    statement: str
    paper: str  # what the paper reports
    check: Callable[[Mapping[str, pd.DataFrame], Mapping[str, Any]], Verdict]
    needs: tuple[str, ...] = ("metrics",)  # result tables the check reads


def rules_for(settings: Mapping[str, Any] | None, paper: str) -> Rules:
    """The verdict rules with the near-perfect threshold of ``paper`` ("paper1", "paper2")."""
    settings = settings or DEFAULT_SETTINGS
    return Rules(
        near_perfect=float(settings["near_perfect"][paper]),
        min_seeds=int(settings["min_seeds"]),
        min_learning_rates=int(settings["min_learning_rates"]),
    )


def protocol_for(settings: Mapping[str, Any] | None) -> Protocol:
    return Protocol.from_config(dict(settings or DEFAULT_SETTINGS))


def pct(x: float) -> str:
    """A fraction as a percentage for LaTeX; a value that rounds to zero prints as 0.0, not -0.0."""
    return f"{round(100 * x, 1) + 0.0:.1f}\\%"


#: what a claim module needs besides its rules (:mod:`.rules`): the verdict labels, the evidence
#: and outcome types, and the settings
__all__ = [
    "DEFAULT_SETTINGS",
    "INCONCLUSIVE",
    "NOT_REPRODUCED",
    "NOT_TESTED",
    "REPRODUCED",
    "Evidence",
    "Outcome",
    "Claim",
    "Verdict",
    "pct",
    "protocol_for",
    "rules_for",
]
