"""The verdict rules, each outcome on small synthetic tables, and the scorecard built from them."""

from __future__ import annotations

import pandas as pd
import pytest

from separations.claims import (
    CONSISTENT,
    INCONCLUSIVE,
    NOT_REPRODUCED,
    NOT_TESTED,
    REPRODUCED,
    VIOLATED,
    evaluate,
)
from separations.claims.rules import (
    Evidence,
    Outcome,
    Rules,
    decided_by_any,
    every,
    separation,
    succeeds,
    upper_bound,
)
from separations.latexlog import problems
from separations.report import claims_tex, numbers, numbers_tex
from separations.results import METRICS_SCHEMA
from separations.summary import BORDERLINE, FAILED, SOLVED, cells

RULES = Rules(near_perfect=0.99, min_seeds=3, min_learning_rates=3)


def cell(name="A", acc=1.0, low=0.995, high=1.0, steps=1000, seeds=3, lrs=3, **flags):
    return Evidence(name, acc, low, high, steps, seeds, lrs, **flags)


SOLVED_CELL = cell("TF")
FAILED_CELL = cell("LSTM", acc=0.1, low=0.05, high=0.15)
BORDER_CELL = cell("LSTM", acc=0.99, low=0.985, high=0.995)


# ---------------------------------------------------------------- the rules, one outcome each


def test_separation_reproduced_when_control_solved_and_other_failed():
    assert separation(SOLVED_CELL, FAILED_CELL, RULES).verdict == REPRODUCED


def test_separation_not_reproduced_when_both_solved():
    outcome = separation(SOLVED_CELL, cell("LSTM"), RULES)
    assert outcome.verdict == NOT_REPRODUCED and "solved too" in outcome.reason


@pytest.mark.parametrize(
    "positive, negative, reason",
    [
        (FAILED_CELL, FAILED_CELL, "positive control"),  # both at chance: no evidence
        (BORDER_CELL, FAILED_CELL, "positive control"),
        (SOLVED_CELL, BORDER_CELL, "overlaps the threshold"),
        (SOLVED_CELL, cell("LSTM", 0.1, 0.05, 0.15, improving=True), "still improving"),
        (SOLVED_CELL, cell("LSTM", 0.1, 0.05, 0.15, at_edge=True), "edge of its grid"),
        (SOLVED_CELL, cell("LSTM", 0.1, 0.05, 0.15, steps=500), "unequal budgets"),
        (SOLVED_CELL, cell("LSTM", 0.1, 0.05, 0.15, seeds=1), "protocol not met"),
        (cell("TF", lrs=1), FAILED_CELL, "protocol not met"),
    ],
)
def test_separation_inconclusive_with_its_reason(positive, negative, reason):
    outcome = separation(positive, negative, RULES)
    assert outcome.verdict == INCONCLUSIVE
    assert reason in outcome.reason


def test_a_failed_positive_control_can_never_give_a_decisive_verdict():
    """Whatever the other model does, a positive control that is not solved decides nothing."""
    for positive in (FAILED_CELL, BORDER_CELL):
        for negative in (SOLVED_CELL, FAILED_CELL, BORDER_CELL):
            assert separation(positive, negative, RULES).verdict == INCONCLUSIVE


def test_separation_not_tested_without_cells():
    assert separation(None, FAILED_CELL, RULES).verdict == NOT_TESTED
    assert separation(SOLVED_CELL, None, RULES).verdict == NOT_TESTED


def test_succeeds():
    assert succeeds(SOLVED_CELL, RULES).verdict == REPRODUCED
    failed = succeeds(FAILED_CELL, RULES)
    assert failed.verdict == INCONCLUSIVE and "did not learn" in failed.reason
    assert succeeds(BORDER_CELL, RULES).verdict == INCONCLUSIVE
    assert succeeds(cell(seeds=2), RULES).verdict == INCONCLUSIVE
    assert succeeds(None, RULES).verdict == NOT_TESTED


def test_combining_cells():
    yes, no = Outcome(REPRODUCED, "", ("a",)), Outcome(NOT_REPRODUCED, "b solved", ("b",))
    maybe, absent = Outcome(INCONCLUSIVE, "why", ("c",)), Outcome(NOT_TESTED, "absent")
    assert decided_by_any([yes, maybe]).verdict == REPRODUCED
    assert "why" in decided_by_any([yes, maybe]).reason
    assert decided_by_any([yes, no]).verdict == NOT_REPRODUCED
    assert decided_by_any([maybe, absent]).verdict == INCONCLUSIVE
    assert decided_by_any([absent]).verdict == NOT_TESTED
    assert every([yes, yes]).verdict == REPRODUCED
    assert every([yes, maybe]).verdict == INCONCLUSIVE
    assert every([yes, no]).verdict == NOT_REPRODUCED
    assert every([absent, absent]).verdict == NOT_TESTED
    assert decided_by_any([yes, maybe]).cells == ("a", "c")


def test_upper_bound():
    assert upper_bound(True).verdict == CONSISTENT
    assert upper_bound(False).verdict == VIOLATED
    assert upper_bound(None).verdict == NOT_TESTED


# ------------------------------------------------- synthetic metrics tables through the claims


def run_rows(task, model, depth, width, length, lr, seed, curve, *, test, heads=None, steps=None):
    """Evaluation rows of one run: ``curve`` is {step: val_acc}; the last row is final."""
    steps = steps or max(curve)
    out = []
    for i, (step, acc) in enumerate(sorted(curve.items())):
        final = i == len(curve) - 1
        best_step = max(curve, key=lambda s: (curve[s], -s))
        out.append(
            {
                "sweep": "t",
                "job": f"{task}/{model}/d{depth}-w{width}/N{length}",
                "task": task,
                "model": model,
                "depth": depth,
                "width": width,
                "heads": heads,
                "length": length,
                "lr": lr,
                "seed": seed,
                "batch_size": 64,
                "max_steps": steps,
                "threshold": 0.99,
                "stop_threshold": 0.998,
                "chance": 1 / 64,
                "n_params": 1000,
                "val_size": 2000,
                "test_size": 2000,
                "step": step,
                "examples": 64 * step,
                "train_loss": 1.0,
                "val_loss": 1.0,
                "val_acc": acc,
                "solved": acc >= 0.99,
                "final": final,
                "wall_time": 60.0,
                "pruned": False if final else None,
                "best_step": best_step if final else None,
                "best_val_acc": curve[best_step] if final else None,
                "test_acc": test if final else None,
                "test_loss": 1.0 if final else None,
                "package_version": "0",
                "git_commit": "abc",
                "config_hash": "h",
                "torch_version": "t",
                "device": "cpu",
                "host": "h",
                "cpu_model": "cpu",
                "cpu_capability": "AVX2",
                "threads": 1,
            }
        )
    return out


def cell_rows(task, model, depth, width, length, acc, *, lrs=(3e-4, 1e-3, 3e-3), seeds=(0, 1, 2),
              steps=1000, rising=False, heads=None):  # fmt: skip
    """A cell whose best learning rate (the middle one) reaches ``acc`` (the others 0.05)."""
    out = []
    for lr in lrs:
        for seed in seeds:
            top = acc if lr == lrs[len(lrs) // 2] else 0.05
            if rising:  # flat until the last quarter, then up by 0.3
                curve = {0: 0.01, steps // 2: top - 0.3, steps: top}
            else:
                curve = {0: 0.01, steps // 2: top, steps: top}
            out += run_rows(task, model, depth, width, length, lr, seed, curve, test=top,
                            heads=heads, steps=steps)  # fmt: skip
    return out


def table(*parts) -> pd.DataFrame:
    df = pd.DataFrame([r for part in parts for r in part])
    assert list(df.columns) == METRICS_SCHEMA.names
    return df


def verdicts(df: pd.DataFrame) -> dict[str, str]:
    return {claim.id: v.verdict for claim, v in evaluate({"metrics": df})}


def test_cells_score_the_test_set_at_the_validation_choice():
    df = table(cell_rows("idxl", "lstm", 1, 64, 100, 0.5))
    # the test score of the chosen rate's seeds is reported, not the best validation score
    df.loc[df["final"] & (df["lr"] == 1e-3), "test_acc"] = 0.4
    row = cells(df).iloc[0]
    assert row.best_lr == 1e-3 and row.acc == pytest.approx(0.4)
    assert row.status == FAILED and row.seeds == 3 and row.n_lrs == 3
    solved = cells(table(cell_rows("idxl", "transformer", 1, 64, 100, 1.0, heads=4))).iloc[0]
    assert solved.status == SOLVED and solved.low >= 0.99
    border = cells(table(cell_rows("idxl", "transformer", 1, 64, 100, 0.99, heads=4))).iloc[0]
    assert border.status == BORDERLINE


def test_cells_flag_a_rising_curve_and_a_rate_at_the_grid_edge():
    rising = cells(table(cell_rows("idxl", "lstm", 1, 64, 100, 0.5, rising=True))).iloc[0]
    assert rising.improving and not rising.at_edge
    edge = table(cell_rows("idxl", "lstm", 1, 64, 100, 0.5, lrs=(1e-3, 3e-4, 1e-4)))
    row = cells(edge).iloc[0]
    assert row.best_lr == 3e-4 and not row.at_edge  # the middle rate: no flag
    edge.loc[edge["lr"] == 1e-4, ["val_acc", "test_acc"]] = [0.6, 0.6]
    edge.loc[edge["lr"] == 1e-4, "test_acc"] = edge.loc[edge["lr"] == 1e-4, "test_acc"].where(
        edge.loc[edge["lr"] == 1e-4, "final"]
    )
    row = cells(edge).iloc[0]
    assert row.best_lr == 1e-4 and row.at_edge


def test_index_lookup_separation_reproduced_only_with_its_positive_control():
    tf = cell_rows("idxl", "transformer", 1, 64, 100, 1.0, heads=4)
    lstm = cell_rows("idxl", "lstm", 1, 64, 100, 0.05)
    assert verdicts(table(tf, lstm))["P1-IDX-RNN"] == REPRODUCED
    tf_fails = cell_rows("idxl", "transformer", 1, 64, 100, 0.05, heads=4)
    assert verdicts(table(tf_fails, lstm))["P1-IDX-RNN"] == INCONCLUSIVE
    lstm_solves = cell_rows("idxl", "lstm", 1, 64, 100, 1.0)
    assert verdicts(table(tf, lstm_solves))["P1-IDX-RNN"] == NOT_REPRODUCED
    lstm_rising = cell_rows("idxl", "lstm", 1, 64, 100, 0.5, rising=True)
    assert verdicts(table(tf, lstm_rising))["P1-IDX-RNN"] == INCONCLUSIVE
    short_budget = cell_rows("idxl", "lstm", 1, 64, 100, 0.05, steps=500)
    assert verdicts(table(tf, short_budget))["P1-IDX-RNN"] == INCONCLUSIVE
    one_seed = cell_rows("idxl", "lstm", 1, 64, 100, 0.05, seeds=(0,))
    assert verdicts(table(tf, one_seed))["P1-IDX-RNN"] == INCONCLUSIVE
    # below N = 100 the paper claims nothing about recurrent models: context only
    short = table(
        cell_rows("idxl", "transformer", 1, 64, 20, 1.0, heads=4),
        cell_rows("idxl", "lstm", 1, 64, 20, 1.0),
    )
    assert verdicts(short)["P1-IDX-RNN"] == NOT_TESTED
    assert verdicts(short)["P1-IDX-TF"] == REPRODUCED


def test_dyck_transformer_failure_is_inconclusive_without_its_control():
    df = table(
        cell_rows("dyck", "lstm", 1, 64, 40, 1.0),
        cell_rows("dyck", "transformer", 1, 64, 40, 0.5, heads=4),
        cell_rows("dyck", "transformer", 2, 64, 40, 0.5, heads=4),
        cell_rows("dyck", "transformer", 1, 64, 120, 0.5, heads=4),
        cell_rows("dyck", "transformer", 2, 64, 120, 0.5, heads=4),
    )
    got = verdicts(df)
    assert got["P1-DYCK-RNN"] == REPRODUCED
    assert got["P1-DYCK-TF"] == INCONCLUSIVE
    assert got["P1-DYCK-SEP"] == INCONCLUSIVE  # the 2-layer control failed too
    assert got["P1-EQ-ONE"] == NOT_TESTED


def test_no_claim_is_decided_when_every_model_is_at_chance():
    parts = [
        cell_rows(task, model, depth, 64, n, 0.02, heads=4 if model == "transformer" else None)
        for task, n in (("idxl", 100), ("dyck", 120), ("eq-ncp", 20), ("nn", 20))
        for model, depth in (("transformer", 1), ("transformer", 2), ("lstm", 1))
    ]
    for claim_id, verdict in verdicts(table(*parts)).items():
        assert verdict in (INCONCLUSIVE, NOT_TESTED), claim_id


def test_scorecard_counts_and_longtable():
    df = table(
        cell_rows("idxl", "transformer", 1, 64, 100, 1.0, heads=4),
        cell_rows("idxl", "lstm", 1, 64, 100, 0.05),
    )
    values = numbers({"metrics": df}, "t")
    assert values["verdict-P1-IDX-RNN"] == REPRODUCED
    counted = sum(int(values[k]) for k in values if k.startswith("count-"))
    assert counted == int(values["n-claims"])
    assert values["count-reproduced"] == str(sum(v == REPRODUCED for v in verdicts(df).values()))
    text = claims_tex({"metrics": df})
    assert "longtable" in text and "tabularx" not in text
    assert text.count(r"\midrule") == int(values["n-claims"]) + 2  # two header rows
    assert "P1-IDX-RNN" in text and "CPU-min" in text
    assert r"\def\csname res@count-reproduced" in numbers_tex(values)


def test_layout_check_reads_latex_logs():
    log = "\n".join(
        [
            "Overfull \\hbox (3.2pt too wide) in paragraph at lines 1--2",
            "Overfull \\hbox (12.5pt too wide) in paragraph at lines 3--4",
            "Overfull \\vbox (826.0pt too high) has occurred while \\output is active",
            "Underfull \\hbox (badness 10000) in paragraph at lines 5--6",
        ]
    )
    found = problems(log)
    assert len(found) == 2
    assert any("12.5pt" in line for line in found) and any("vbox" in line for line in found)
    assert problems("Overfull \\hbox (4.9pt too wide) in paragraph") == []


def test_mamba_width_failure_counts_only_against_its_positive_control():
    """No Mamba width solving the long N is support only when TF-(1, 64) is solved there and the
    widest Mamba's failure counts (not still improving)."""
    mamba = [
        cell_rows("idxl", "mamba", 2, w, n, acc)
        for w, n, acc in ((16, 20, 0.3), (32, 20, 1.0), (16, 50, 0.1), (32, 50, 0.1))
    ]
    tf_solves = cell_rows("idxl", "transformer", 1, 64, 50, 1.0, heads=4)
    tf_fails = cell_rows("idxl", "transformer", 1, 64, 50, 0.05, heads=4)
    assert verdicts(table(*mamba, tf_solves))["P1-MAMBA-WIDTH"] == REPRODUCED
    assert verdicts(table(*mamba, tf_fails))["P1-MAMBA-WIDTH"] == INCONCLUSIVE
    rising = [*mamba[:3], cell_rows("idxl", "mamba", 2, 32, 50, 0.5, rising=True)]
    assert verdicts(table(*rising, tf_solves))["P1-MAMBA-WIDTH"] == INCONCLUSIVE


def test_the_intervals_equal_scipy_stats_bit_for_bit():
    """summary.wilson and summary.seed_interval use scipy.special (importing scipy.stats costs
    every figure process a second): the reference is scipy.stats, to the last bit."""
    import numpy as np
    from scipy import stats

    from separations.summary import seed_interval, wilson

    for n in [1, 2, 3, 10, 64, 500, 1000, 5000]:
        for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
            for confidence in [0.9, 0.95, 0.99]:
                ci = stats.binomtest(k, n).proportion_ci(confidence, method="wilson")
                assert wilson(k, n, confidence) == (float(ci.low), float(ci.high)), (k, n)
    rng = np.random.default_rng(0)
    for _ in range(500):
        values = rng.random(int(rng.integers(2, 6)))
        for confidence in [0.9, 0.95]:
            scale = stats.sem(values, ddof=1)
            low, high = stats.t.interval(confidence, len(values) - 1, values.mean(), scale)
            assert seed_interval(values, confidence) == (float(low), float(high))
    assert seed_interval(np.array([0.5, 0.5, 0.5]), 0.95) == (0.5, 0.5)


def test_the_slope_fit_equals_scipy_linregress_bit_for_bit():
    """claims.rules fits log-log slopes with numpy and scipy.special (no scipy.stats import):
    slope, standard error and t quantile equal linregress's and t.ppf's to the last bit."""
    import numpy as np
    from scipy import special, stats

    from separations.claims.rules import _least_squares

    rng = np.random.default_rng(1)
    for _ in range(300):
        n = int(rng.integers(3, 8))
        x = np.log2(np.sort(rng.choice(np.arange(4, 500), n, replace=False)).astype(float))
        y = np.log2(rng.integers(2, 128, n).astype(float))
        if np.ptp(y) == 0:
            continue
        fit = stats.linregress(x, y)
        assert _least_squares(x, y) == (float(fit.slope), float(fit.stderr))
        assert float(special.stdtrit(n - 2, 0.975)) == float(stats.t.ppf(0.975, n - 2))


def test_a_table_of_several_sweeps_names_each_sweeps_commit():
    from separations.report import table_commits

    one = pd.DataFrame({"sweep": ["cpu", "cpu"], "git_commit": ["a" * 40, "a" * 40]})
    two = pd.concat([one, pd.DataFrame({"sweep": ["cpu_small"], "git_commit": ["b" * 40]})])
    assert table_commits(one) == "a" * 12
    assert table_commits(two) == f"{'a' * 12} (cpu), {'b' * 12} (cpu_small)"
