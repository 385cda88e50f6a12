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

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive"
NOT_TESTED = "not tested"
CONSISTENT = "consistent"
VIOLATED = "violated"
VERDICTS = (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, NOT_TESTED, CONSISTENT, VIOLATED)

SOLVED, FAILED, BORDERLINE = "solved", "failed", "borderline"


@dataclass(frozen=True)
class Rules:
    """The numbers the rules use (config.yaml, ``verdicts``)."""

    near_perfect: float = 0.99
    min_seeds: int = 3
    min_learning_rates: int = 3


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


def decided_by_any(outcomes: list[Outcome]) -> Outcome:
    """A claim tested at several cells, decided by its decisive ones (see the module doc)."""
    tested = [o for o in outcomes if o.verdict != NOT_TESTED]
    cells = _join(tested)
    if not tested:
        return Outcome(NOT_TESTED, _reasons(outcomes) or "the sweep lacks the cells")
    against = [o for o in tested if o.verdict == NOT_REPRODUCED]
    if against:
        return Outcome(NOT_REPRODUCED, _reasons(against), cells)
    if any(o.verdict == REPRODUCED for o in tested):
        rest = [o for o in tested if o.verdict == INCONCLUSIVE]
        return Outcome(
            REPRODUCED, ("elsewhere inconclusive: " + _reasons(rest)) if rest else "", cells
        )
    return Outcome(INCONCLUSIVE, _reasons(tested), cells)


def every(outcomes: list[Outcome]) -> Outcome:
    """A claim that must hold at every one of its cells."""
    tested = [o for o in outcomes if o.verdict != NOT_TESTED]
    cells = _join(tested)
    if not tested:
        return Outcome(NOT_TESTED, _reasons(outcomes) or "the sweep lacks the cells")
    against = [o for o in tested if o.verdict == NOT_REPRODUCED]
    if against:
        return Outcome(NOT_REPRODUCED, _reasons(against), cells)
    if all(o.verdict == REPRODUCED for o in tested):
        untested = len(outcomes) - len(tested)
        reason = f"{untested} of its cells not in the sweep" if untested else ""
        return Outcome(REPRODUCED, reason, cells)
    return Outcome(INCONCLUSIVE, _reasons([o for o in tested if o.verdict != REPRODUCED]), cells)


def upper_bound(holds: bool | None, reason: str = "", cells: tuple[str, ...] = ()) -> Outcome:
    """An upper-bound theorem ("this much suffices"): consistent, violated, or not tested."""
    if holds is None:
        return Outcome(NOT_TESTED, reason, cells)
    return Outcome(CONSISTENT if holds else VIOLATED, reason, cells)
