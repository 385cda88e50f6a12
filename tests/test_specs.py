"""Typed job specs: every configured job round-trips exactly (so config hashes and committed tables
are unchanged by the typing), and a bad ``--spec`` is refused by field name before any work."""

from __future__ import annotations

import json

import pytest

from separations import config as sweep_config
from separations import critical_width
from separations.istree import sweeps as istree_sweeps
from separations.settings import NUMERIC_KEYS, ConfigError, config_hash, expand
from separations.specs import ClassifierSpec, CriticalWidthSpec, IsTreeSpec
from separations.train import main as train_main


@pytest.fixture(scope="module")
def config():
    return sweep_config.load()


def test_every_configured_job_round_trips_with_its_hash(config):
    for sweep in config["sweeps"]:
        for job, spec in sweep_config.job_specs(config, sweep).items():
            assert isinstance(spec, ClassifierSpec) and spec.job == job
            again = ClassifierSpec.from_json(spec.to_json())
            assert again == spec and again.instance_size == spec.length
            assert config_hash(spec.to_dict(), NUMERIC_KEYS) == spec.config_hash
    for jobs in istree_sweeps.check(config["istree"]).values():
        for spec in jobs.values():
            assert isinstance(spec, IsTreeSpec) and spec.instance_size == spec.n
            assert IsTreeSpec.from_json(spec.to_json()) == spec
            assert config_hash(spec.to_dict(), istree_sweeps.NUMERIC_KEYS) == spec.config_hash
    for study in config["critical_width"]:
        for spec in critical_width.study_jobs(config, study).values():
            assert CriticalWidthSpec.from_json(spec.to_json()) == spec
            width = critical_width.width_spec(spec, spec.widths[0])
            assert isinstance(width, ClassifierSpec) and width.width == spec.widths[0]


def test_a_bad_spec_names_the_field(config):
    spec = next(iter(sweep_config.job_specs(config, "ci").values())).to_dict()
    with pytest.raises(ConfigError, match="unknown field.*lenght"):
        ClassifierSpec.from_dict({**spec, "lenght": 3})
    with pytest.raises(ConfigError, match="lacks field.*width"):
        ClassifierSpec.from_dict({k: v for k, v in spec.items() if k != "width"})
    with pytest.raises(ConfigError, match=r"--spec\.width: expected an integer, got '64'"):
        ClassifierSpec.from_dict({**spec, "width": "64"})
    with pytest.raises(ConfigError, match=r"--spec\.learning_rates\[1\]: expected a number"):
        ClassifierSpec.from_dict({**spec, "learning_rates": [1e-3, "fast"]})
    with pytest.raises(ConfigError, match="not JSON"):
        ClassifierSpec.from_json("{")
    # an IsTree spec is not a paper-1 spec
    istree = next(iter(istree_sweeps.check(config["istree"])["ci"].values())).to_dict()
    with pytest.raises(ConfigError, match="unknown field.*family"):
        ClassifierSpec.from_dict(istree)


def test_the_trainer_refuses_a_bad_spec_in_one_line(config, tmp_path, capsys):
    spec = next(iter(sweep_config.job_specs(config, "ci").values())).to_dict()
    spec["depth"] = "two"
    argv = ["--spec", json.dumps(spec), "--data", "x.parquet", "--out", str(tmp_path / "m.pq")]
    assert train_main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith("--spec.depth: expected an integer, got 'two'")
    assert not (tmp_path / "m.pq").exists()


# -- the one expander --------------------------------------------------------------------------


def _cells(cell, settings, where):
    yield f"{cell['a']}/{cell['b']}", {"job": f"{cell['a']}/{cell['b']}", **cell, **settings}


def test_expand_takes_each_blocks_product_with_its_training_overlay():
    blocks = [("g[0]", {"a": [1, 2], "b": ["x"]}), ("g[1]", {"a": [3], "b": ["x", "y"]})]
    blocks[1][1]["training"] = {"lr": 0.5}
    jobs = expand(blocks, {"lr": 0.1}, ("a", "b"), _cells, lambda spec, where: (spec, where))
    assert list(jobs) == ["1/x", "2/x", "3/x", "3/y"]
    assert jobs["2/x"][0]["lr"] == 0.1 and jobs["3/y"] == (
        {"job": "3/y", "a": 3, "b": "y", "lr": 0.5},
        "g[1]",
    )


@pytest.mark.parametrize("keys", [("lr",), None])
def test_expand_refuses_a_cell_two_blocks_give_different_settings(keys):
    blocks = [("g[0]", {"a": [1], "b": ["x"]}), ("g[1]", {"a": [1], "b": ["x"], "training": {}})]
    same = expand(blocks, {"lr": 0.1}, ("a", "b"), _cells, lambda spec, w: spec, keys=keys)
    assert list(same) == ["1/x"] and (keys is None or "config_hash" in same["1/x"])
    blocks[1][1]["training"] = {"lr": 0.2}
    with pytest.raises(ConfigError, match=r"config key g\[1\]: cell 1/x appears in two grid"):
        expand(blocks, {"lr": 0.1}, ("a", "b"), _cells, lambda spec, w: spec, keys=keys)


def test_expand_hashes_only_the_named_keys():
    blocks = [("g[0]", {"a": [1], "b": ["x"]}), ("g[1]", {"a": [1], "b": ["x"]})]
    blocks[1][1]["training"] = {"note": "other"}  # not a numeric key: the same job
    jobs = expand(blocks, {"lr": 0.1}, ("a", "b"), _cells, lambda s, w: s, keys=("a", "lr"))
    assert jobs["1/x"]["config_hash"] == config_hash({"a": 1, "lr": 0.1}, None)
