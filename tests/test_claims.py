"""Verdicts are computed from the results: synthetic metrics with known outcomes."""

from __future__ import annotations

import pandas as pd
import pytest

from separations.claims import CONTRADICTED, NOT_TESTED, PARTLY, SUPPORTED, evaluate
from separations.report import claims_tex, numbers, numbers_tex
from separations.results import METRICS_SCHEMA


def rows(task, model, depth, width, accs: dict[int, float], heads=None, lr=1e-3):
    """Evaluation rows of one run per N: chance at step 0, then ``acc`` at step 100."""
    out = []
    for length, acc in accs.items():
        for step, value in ((0, 0.01), (100, acc)):
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
                    "seed": 0,
                    "batch_size": 64,
                    "max_steps": 100,
                    "threshold": 0.99,
                    "chance": 1 / 64,
                    "n_params": 1000,
                    "step": step,
                    "examples": 64 * step,
                    "train_loss": 1.0,
                    "val_loss": 1.0,
                    "val_acc": value,
                    "solved": value >= 0.99,
                    "final": step == 100,
                    "wall_time": 1.0,
                    "package_version": "0",
                    "git_commit": "x",
                    "config_hash": "h",
                    "torch_version": "t",
                    "device": "cpu",
                    "host": "h",
                }
            )
    return out


def metrics(*parts) -> pd.DataFrame:
    df = pd.DataFrame([r for part in parts for r in part])
    assert list(df.columns) == METRICS_SCHEMA.names
    return df


def verdicts(df: pd.DataFrame) -> dict[str, str]:
    return {claim.id: v.verdict for claim, v in evaluate({"metrics": df})}


LENGTHS = [20, 50, 100, 200]


def test_index_lookup_separation_is_supported_when_the_tf_solves_and_the_lstm_fails():
    df = metrics(
        rows("idxl", "transformer", 1, 64, dict.fromkeys(LENGTHS, 1.0), heads=4),
        rows("idxl", "lstm", 1, 64, {20: 1.0, 50: 0.5, 100: 0.1, 200: 0.02}),
    )
    assert verdicts(df)["P1-IDX"] == SUPPORTED


def test_index_lookup_is_contradicted_when_it_goes_the_other_way():
    df = metrics(
        rows("idxl", "transformer", 1, 64, dict.fromkeys(LENGTHS, 0.3), heads=4),
        rows("idxl", "lstm", 1, 64, dict.fromkeys(LENGTHS, 1.0)),
    )
    assert verdicts(df)["P1-IDX"] == CONTRADICTED


def test_index_lookup_is_partly_supported_when_only_one_half_holds():
    df = metrics(
        rows("idxl", "transformer", 1, 64, {20: 1.0, 50: 1.0, 100: 0.9, 200: 0.5}, heads=4),
        rows("idxl", "lstm", 1, 64, {20: 0.5, 50: 0.1, 100: 0.05, 200: 0.02}),
    )
    assert verdicts(df)["P1-IDX"] == PARTLY


def test_the_best_learning_rate_counts():
    df = metrics(
        rows("idxl", "transformer", 1, 64, dict.fromkeys(LENGTHS, 1.0), heads=4, lr=1e-3),
        rows("idxl", "transformer", 1, 64, dict.fromkeys(LENGTHS, 0.0), heads=4, lr=1e-2),
        rows("idxl", "lstm", 1, 64, dict.fromkeys(LENGTHS, 0.02)),
    )
    assert verdicts(df)["P1-IDX"] == SUPPORTED


def test_missing_cells_are_not_tested():
    df = metrics(rows("idxl", "lstm", 1, 64, {20: 0.5}))
    result = verdicts(df)
    assert result["P1-IDX"] == NOT_TESTED and result["P1-DYCK"] == NOT_TESTED


def test_dyck_and_mamba_width():
    df = metrics(
        rows("dyck", "lstm", 1, 64, dict.fromkeys(LENGTHS, 1.0)),
        rows("dyck", "transformer", 2, 64, dict.fromkeys(LENGTHS, 1.0), heads=4),
        rows("dyck", "transformer", 1, 256, {20: 1.0, 50: 1.0, 100: 1.0, 200: 0.6}, heads=4),
        rows("idxl", "mamba", 2, 32, {20: 0.3, 200: 0.05}),
        rows("idxl", "mamba", 2, 256, {20: 0.9, 200: 0.2}),
        rows("idxl", "transformer", 1, 64, {20: 1.0, 200: 1.0}, heads=4),
    )
    result = verdicts(df)
    assert result["P1-DYCK"] == PARTLY  # Mamba-(1, 64) is not in this table
    assert result["P1-MAMBA-WIDTH"] == SUPPORTED


@pytest.mark.parametrize("lstm_acc, expected", [(0.5, SUPPORTED), (1.0, PARTLY)])
def test_report_writes_verdicts_and_numbers(lstm_acc, expected):
    df = metrics(
        rows("idxl", "transformer", 1, 64, dict.fromkeys(LENGTHS, 1.0), heads=4),
        rows("idxl", "lstm", 1, 64, dict.fromkeys(LENGTHS, lstm_acc)),
    )
    values = numbers({"metrics": df}, "t")
    assert values["verdict-P1-IDX"] == expected
    assert values["acc-idxl-lstm-d1-w64-N200"] == f"{100 * lstm_acc:.1f}\\%"
    tex = numbers_tex(values)
    assert r"\csname res@verdict-P1-IDX\endcsname{" + expected + "}" in tex
    assert rf"\textbf{{{expected}}}" in claims_tex({"metrics": df})


@pytest.mark.parametrize(
    ("fraction", "text"),
    [(-1e-4, "0.0\\%"), (0.0, "0.0\\%"), (-0.02, "-2.0\\%"), (0.9995, "100.0\\%")],
)
def test_percentages_never_print_negative_zero(fraction, text):
    from separations.claims.base import pct

    assert pct(fraction) == text
