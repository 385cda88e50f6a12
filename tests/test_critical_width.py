"""The critical-width study: the slope rule, the width search, the job table, and the ci study
end to end through Snakemake."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from conftest import planned_jobs, snakemake  # noqa: E402

from separations import config as sweep_config  # noqa: E402
from separations import critical_width as cw  # noqa: E402
from separations.claims.rules import (  # noqa: E402
    INCONCLUSIVE,
    NOT_REPRODUCED,
    NOT_TESTED,
    REPRODUCED,
    family_slope,
    loglog_slope,
    width_scaling,
)
from separations.summary import FAILED, SOLVED  # noqa: E402

LENGTHS = [8, 16, 32, 64]


def pts(widths, capped=()):
    return [(n, w, n in capped) for n, w in zip(LENGTHS, widths, strict=True)]


LOGARITHMIC = pts([4, 4, 4, 4])  # log N over a factor 8 is less than one doubling of width
STEP = pts([4, 4, 8, 8])  # log-like, but 4 points on a doubling grid cannot pin the slope
LINEAR = pts([4, 8, 16, 32])  # slope exactly 1
SUBLINEAR_FLAT = pts([16, 16, 16, 16])  # slope 0


# -- the slope rule --------------------------------------------------------------------------


def test_loglog_slope_recovers_powers():
    fit = loglog_slope([(n, 3 * n) for n in LENGTHS])
    assert fit.slope == pytest.approx(1.0)
    assert fit.low == pytest.approx(1.0) and fit.high == pytest.approx(1.0)
    assert loglog_slope([(8, 4)]) is None


def test_reproduced_when_transformer_log_and_recurrent_polynomial():
    out = width_scaling(LOGARITHMIC, {"lstm": LINEAR, "mamba": pts([8, 16, 32, 64])})
    assert out.verdict == REPRODUCED, out


def test_capped_points_count_as_lower_bounds():
    # solved at 8 and 16, above the cap (32) from N = 32 on: slope >= its lower bound
    capped = pts([8, 16, 32, 32], capped={32, 64})
    fit, why = family_slope(capped)
    assert fit is not None and fit.lower_bound, why
    out = width_scaling(pts([4, 4, 4, 4]), {"lstm": pts([4, 8, 32, 128], capped={64})})
    assert out.verdict == REPRODUCED, out
    # a family above the cap at every N has no slope: inconclusive, named
    out = width_scaling(LOGARITHMIC, {"lstm": pts([128] * 4, capped=set(LENGTHS))})
    assert out.verdict == INCONCLUSIVE and "never solved below the cap" in out.reason
    # capped at a small N only: no slope from it
    fit, why = family_slope(pts([32, 8, 16, 32], capped={8}))
    assert fit is None and "small N" in why


def test_not_reproduced_when_a_recurrent_family_is_sub_polynomial():
    out = width_scaling(LOGARITHMIC, {"lstm": LINEAR, "dss": SUBLINEAR_FLAT})
    assert out.verdict == NOT_REPRODUCED and "dss" in out.reason


def test_not_reproduced_when_transformer_grows_polynomially():
    out = width_scaling(LINEAR, {"lstm": LINEAR})
    assert out.verdict == NOT_REPRODUCED and "Transformer" in out.reason


def test_positive_control_failed():
    out = width_scaling(pts([4, 4, 8, 8], capped={64}), {"lstm": LINEAR})
    assert out.verdict == INCONCLUSIVE and "positive control failed" in out.reason


def test_too_few_points_and_overlapping_intervals():
    out = width_scaling(LOGARITHMIC[:2], {"lstm": LINEAR})
    assert out.verdict == INCONCLUSIVE and "too few" in out.reason
    noisy = pts([4, 16, 4, 16])  # slope 0.6 with a wide interval
    out = width_scaling(LOGARITHMIC, {"lstm": noisy})
    assert out.verdict == INCONCLUSIVE and "overlaps" in out.reason


def test_one_step_of_the_grid_is_not_decisive():
    out = width_scaling(STEP, {"lstm": LINEAR})
    assert out.verdict == INCONCLUSIVE and "Transformer's slope interval" in out.reason


def test_not_tested_without_families():
    assert width_scaling(None, {"lstm": LINEAR}).verdict == NOT_TESTED
    assert width_scaling(LOGARITHMIC, {}).verdict == NOT_TESTED


# -- the search ------------------------------------------------------------------------------


def test_search_stops_at_first_solved_plus_one_above():
    calls = []

    def status_of(width):
        calls.append(width)
        return SOLVED if width >= 16 else FAILED

    assert cw.search([4, 8, 16, 32, 64], status_of) == [4, 8, 16, 32]
    assert calls == [4, 8, 16, 32]


def test_search_solved_at_the_cap_and_never_solved():
    assert cw.search([4, 8, 16], lambda w: SOLVED if w == 16 else FAILED) == [4, 8, 16]
    assert cw.search([4, 8, 16], lambda w: FAILED) == [4, 8, 16]
    assert cw.search([4, 8, 16], lambda w: SOLVED) == [4, 8]


def fake_rows(spec, width, solve_from, seeds=(0, 1, 2), lrs=(1e-3, 3e-3)):
    """Final evaluation rows of one width's job: solved (test acc 1) from width ``solve_from``."""
    rows = []
    for lr in lrs:
        for seed in seeds:
            acc = 1.0 if width >= solve_from else 0.3
            rows.append(
                {
                    "task": "idxl",
                    "model": spec.model,
                    "depth": spec.depth,
                    "width": width,
                    "heads": 0,
                    "length": spec.length,
                    "lr": lr,
                    "seed": seed,
                    "step": 100,
                    "val_acc": acc,
                    "test_acc": acc,
                    "final": True,
                    "pruned": False,
                    "threshold": 0.99,
                    "max_steps": 100,
                    "chance": 0.25,
                    "wall_time": 1.0,
                    "n_params": width,
                    "val_size": 2000,
                    "test_size": 2000,
                    "best_step": 100,
                    "best_val_acc": acc,
                    "solved": acc >= 0.99,
                    "test_loss": 0.0,
                }
            )
    return rows


def test_summarize_critical_width_and_cap():
    spec = SimpleNamespace(model="lstm", depth=1, length=16)
    solved = pd.DataFrame(fake_rows(spec, 8, 8) + fake_rows(spec, 16, 8) + fake_rows(spec, 4, 8))
    never = pd.DataFrame(
        [r | {"length": 32} for w in (4, 8, 16) for r in fake_rows(spec, w, 10**6)]
    )
    summary = cw.summarize(pd.concat([solved, never]))
    at16 = summary[summary["length"] == 16].iloc[0]
    assert at16.critical_width == 8 and not at16.capped
    assert (at16.seed_low, at16.seed_median, at16.seed_high) == (8, 8, 8)
    assert at16.alphabet == 4
    at32 = summary[summary["length"] == 32].iloc[0]
    assert at32.capped and at32.critical_width == 16 and at32.seeds_capped == 3


def study_table(critical: dict[str, dict[int, int]], widths=(4, 8, 16, 32, 64)):
    """The rows a study would train: per family and N, widths up to the critical one plus one
    above (all of them when the family never solves), solved from its critical width."""
    rows = []
    for model, by_length in critical.items():
        for length, solve_from in by_length.items():
            spec = SimpleNamespace(model=model, depth=1, length=length)
            for i, width in enumerate(widths):
                rows += fake_rows(spec, width, solve_from, lrs=(3e-4, 1e-3, 3e-3))
                if width > solve_from or (width == solve_from and i + 1 == len(widths)):
                    break
    return pd.DataFrame(rows)


def test_claim_from_a_study_table():
    from separations.claims.paper1 import width_scaling_claim

    tf = {n: 4 for n in LENGTHS}
    lstm = {8: 4, 16: 8, 32: 16, 64: 32}
    verdict = width_scaling_claim(
        {"critical_width": study_table({"transformer": tf, "lstm": lstm})}
    )
    assert verdict.verdict == REPRODUCED, verdict
    assert verdict.numbers["width-lstm-N64"] == "32"
    # LSTM above the cap (64) at the largest N: a lower bound, still polynomial
    capped = {8: 4, 16: 8, 32: 16, 64: 10**6}
    verdict = width_scaling_claim(
        {"critical_width": study_table({"transformer": tf, "lstm": capped})}
    )
    assert verdict.verdict == REPRODUCED, verdict
    assert verdict.numbers["width-lstm-N64"] == "$>$64"
    # ... but capped at the two largest N, four points cannot pin the slope: inconclusive
    capped = {8: 8, 16: 32, 32: 10**6, 64: 10**6}
    verdict = width_scaling_claim(
        {"critical_width": study_table({"transformer": tf, "lstm": capped})}
    )
    assert verdict.verdict == INCONCLUSIVE and "overlaps" in verdict.reason
    # the Transformer never solves at N = 64: positive control failed
    verdict = width_scaling_claim(
        {"critical_width": study_table({"transformer": {**tf, 64: 10**6}, "lstm": lstm})}
    )
    assert verdict.verdict == INCONCLUSIVE and "positive control" in verdict.reason


def test_run_job_searches_and_resumes(tmp_path):
    """The real job with a fake trainer: widths trained in order, each in its own folder; a
    rerun reads finished widths back instead of training them."""
    import pyarrow as pa

    from separations.results import METRICS_SCHEMA, write_table

    config = sweep_config.load(ROOT / "config.yaml")
    jobs = cw.study_jobs(config, "cpu")
    spec = jobs[next(key for key in jobs if key.startswith("lstm/"))]
    trained = []

    def train(wspec, validation, out, **kwargs):
        trained.append(wspec.width)
        rows = fake_rows(wspec, wspec.width, 16, seeds=wspec.seeds)
        full = []
        for r in rows:
            row = dict.fromkeys(METRICS_SCHEMA.names)
            row.update(r, sweep="cpu", job=wspec.job, config_hash=wspec.config_hash)
            row["heads"] = None
            full.append(row)
        write_table(pa.Table.from_pylist(full, schema=METRICS_SCHEMA), out)

    out = tmp_path / "lstm" / "metrics.parquet"
    table = cw.run_job(spec, "v", "t", out, train=train)
    assert trained == [4, 8, 16, 32]
    assert sorted(set(table.column("width").to_pylist())) == [4, 8, 16, 32]
    assert all((out.parent / f"w{w}" / "metrics.parquet").exists() for w in trained)
    cw.run_job(spec, "v", "t", out, train=train)
    assert trained == [4, 8, 16, 32]  # nothing trained again


# -- the job table ---------------------------------------------------------------------------


def test_adding_a_length_or_family_adds_its_jobs():
    config = sweep_config.load(ROOT / "config.yaml")
    before = set(cw.study_jobs(config, "ci"))
    bigger = copy.deepcopy(config)
    bigger["critical_width"]["ci"]["lengths"].append(32)
    bigger["critical_width"]["ci"]["families"]["mamba"] = {"depth": 1}
    sweep_config.validate(bigger)
    after = set(cw.study_jobs(bigger, "ci"))
    assert before < after
    assert after - before == {
        "transformer/N32",
        "lstm/N32",
        "mamba/N8",
        "mamba/N16",
        "mamba/N32",
    }


def test_bad_study_is_refused():
    config = sweep_config.load(ROOT / "config.yaml")
    for key, value, words in (
        ("families", {"no-such-family": {"depth": 1}}, "unknown model"),
        ("families", {"transformer": {"depth": 1, "heads": 3}}, "not divisible"),
        ("widths", [8, 4], "increasing"),
    ):
        bad = copy.deepcopy(config)
        bad["critical_width"]["ci"][key] = value
        with pytest.raises(sweep_config.ConfigError, match=words):
            sweep_config.validate(bad)
    bad = copy.deepcopy(config)
    bad["critical_width"]["nosuchsweep"] = bad["critical_width"]["ci"]
    with pytest.raises(sweep_config.ConfigError, match="no sweep named"):
        sweep_config.validate(bad)


def test_dry_run_plans_one_job_per_family_and_length(workflow_copy):
    out = snakemake(workflow_copy, "-n", "results/ci/critical_width.parquet").stdout
    jobs = planned_jobs(out)
    assert jobs["critical_width_job"] == 4 and jobs["critical_width_aggregate"] == 1


@pytest.mark.slow
def test_ci_study_end_to_end(workflow_copy):
    """The ci study through Snakemake: one table of every width trained, a summary, the figure
    and the claim (protocol not met: the ci study has two seeds)."""
    from separations.claims.paper1 import width_scaling_claim
    from separations.figures import critical_width as figure
    from separations.summary import load

    snakemake(workflow_copy, "--cores", "2", "results/ci/critical_width.parquet")
    table = load(workflow_copy / "results/ci/critical_width.parquet")
    summary = cw.summarize(table)
    assert len(summary) == 4 and set(summary["model"]) == {"transformer", "lstm"}
    assert set(summary["alphabet"]) == {4}
    verdict = width_scaling_claim({"critical_width": table}, None)
    assert verdict.verdict == INCONCLUSIVE and "protocol not met" in verdict.reason
    out = workflow_copy / "critical_width.pdf"
    figure.main(
        [
            "--input",
            f"critical_width={workflow_copy}/results/ci/critical_width.parquet",
            "--out",
            str(out),
        ]
    )
    assert out.stat().st_size > 0


def test_a_capped_cell_still_rising_is_no_lower_bound():
    """A family above the cap counts as a lower bound only if the failure at the cap counts."""
    from separations.claims.paper1 import width_scaling_claim

    tf = {n: 4 for n in LENGTHS}
    table = study_table({"transformer": tf, "lstm": {8: 4, 16: 8, 32: 16, 64: 10**6}})
    assert width_scaling_claim({"critical_width": table}).verdict == REPRODUCED
    at_cap = table[(table["model"] == "lstm") & (table["length"] == 64) & (table["width"] == 64)]
    early = at_cap.assign(step=10, val_acc=0.0, test_acc=None, final=False, solved=False)
    rising = pd.concat([table, early], ignore_index=True)
    verdict = width_scaling_claim({"critical_width": rising})
    assert verdict.verdict == INCONCLUSIVE and "still improving" in verdict.reason
