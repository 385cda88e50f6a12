"""The bad configurations of issue 14, one by one: each is refused before any job with one line
that names the key (its full path), the value given and what is allowed."""

from __future__ import annotations

import copy
import math
import re

import pytest
import yaml
from conftest import ROOT, copy_workflow, mutate, snakemake

from separations import config as sweep_config

BASE = yaml.safe_load((ROOT / "config.yaml").read_text())
CI = copy.deepcopy(BASE["sweeps"]["ci"])
NAN, INF = math.nan, math.inf


# (dotted path, value, fragments the message must contain; the first is the key it names)
TABLE = [
    # non-finite numbers (NaN learning rate failed inside a job; NaN threshold, inf ran silently)
    ("training.learning_rates", [NAN], ["training.learning_rates[0]", "got nan", "finite"]),
    ("training.learning_rates", [INF], ["training.learning_rates[0]", "got inf", "(0, 10]"]),
    ("training.threshold", NAN, ["training.threshold", "got nan", "(0, 1]"]),
    ("sweeps.ci.training.learning_rates", [-INF], ["sweeps.ci.training.learning_rates[0]"]),
    # seeds too large for the integer types they meet
    ("training.seeds", [2**70], ["training.seeds[0]", "1180591620717411303424", "2147483647"]),
    ("training.data_seed", 2**70, ["training.data_seed", "0..2147483646"]),
    ("sweeps.ci.training.seeds", [0, 2**31], ["sweeps.ci.training.seeds[1]", "2147483648"]),
    # a figure with no script
    ("figures.nosuch_plot", ["metrics"], ["figures.nosuch_plot", "no script", "idxl_heatmap"]),
    # non-integer alphabets, widths (8.5 trained with 8; 16.0 made a path with w16.0)
    ("tasks.idxl.alphabet", 8.5, ["tasks.idxl.alphabet", "got 8.5", "an integer"]),
    ("sweeps.cpu.tasks.eq-ncp.alphabet", 8.5, ["sweeps.cpu.tasks.eq-ncp.alphabet", "8.5"]),
    ("sweeps.ci.grid.0.width", [16.0], ["sweeps.ci.grid[0].width[0]", "got 16.0", "an integer"]),
    ("sweeps.ci.grid.0.depth", [True], ["sweeps.ci.grid[0].depth[0]", "got true"]),
    # an unknown task parameter in a sweep that does not train that task
    ("sweeps.ci.tasks", {"nn": {"dimension": 3}}, ["sweeps.ci.tasks.nn.dimension", "dim, margin"]),
    ("sweeps.ci.tasks", {"sorting": {}}, ["sweeps.ci.tasks.sorting", "unknown task"]),
    # sweep names that are folders of results/
    ("sweeps.constructions", CI, ["sweeps.constructions", "not one of constructions"]),
    ("sweeps.data", CI, ["sweeps.data", "'data'"]),
    ("sweeps.runs", CI, ["sweeps.runs", "'runs'"]),
    ("sweeps.Fast-CI", CI, ["sweeps.Fast-CI", "^[a-z0-9_]+$"]),
    # upper bounds on every number
    ("sweeps.ci.grid.0.width", [10**9], ["sweeps.ci.grid[0].width[0]", "1..65536"]),
    ("sweeps.ci.grid.0.length", [10**9], ["sweeps.ci.grid[0].length[0]", "1..65536"]),
    ("sweeps.ci.grid.0.depth", [1000], ["sweeps.ci.grid[0].depth[0]", "1..64"]),
    ("sweeps.ci.grid.0.heads", [4096], ["sweeps.ci.grid[0].heads[0]", "1..1024"]),
    ("training.max_steps", 10**15, ["training.max_steps", "1000000000000000", "1..10000000"]),
    ("training.batch_size", 10**9, ["training.batch_size", "1..65536"]),
    ("training.eval_size", 10**9, ["training.eval_size", "1..1000000"]),
    ("training.eval_batch_size", 0, ["training.eval_batch_size", "got 0"]),
    ("training.checkpoint_every", 10**15, ["training.checkpoint_every"]),
    ("training.threads", 10**6, ["training.threads", "1..256"]),
    # a task parameter of the wrong type (was a TypeError traceback)
    ("tasks.idxl.min_length", "ten", ["tasks.idxl.min_length", "got 'ten'", "an integer"]),
    ("tasks.idxl.alphabet", "64", ["tasks.idxl.alphabet", "write 64 without quotes"]),
    ("tasks.idxl.train_lengths", 5, ["tasks.idxl.train_lengths", "a string"]),
    # reported at the key that is wrong, not at a grid block that uses it
    ("tasks.idxl.train_lengths", "sometimes", ["tasks.idxl.train_lengths", "'variable' or"]),
    ("tasks.idxl.alphabet", 1000, ["tasks.idxl.alphabet", "got 1000", "2..64"]),
    # an unknown key: the allowed keys in one line
    ("training.max_stepz", 5, ["training.max_stepz", "unknown key", "max_steps, eval_every"]),
    ("sweeps.ci.grid.0.lenght", [12], ["sweeps.ci.grid[0].lenght", "unknown key", "length"]),
    ("verdicts.zz", 1, ["verdicts.zz", "unknown key", "confidence"]),
    # 1e-3 without a decimal point is a YAML string
    ("training.learning_rates", ["1e-3"], ["training.learning_rates[0]", "write 1.0e-3"]),
    ("training.max_steps", "1e4", ["training.max_steps", "write 10000"]),
    # the new run settings: stop_threshold, pruning, test_size
    ("training.stop_threshold", 0.95, ["training.stop_threshold", "below threshold 0.99"]),
    ("sweeps.ci.training.stop_threshold", 0.5, ["sweeps.ci.training.stop_threshold", "0.5"]),
    ("training.stop_threshold", 1.5, ["training.stop_threshold", "(0, 1]"]),
    ("training.stop_threshold", NAN, ["training.stop_threshold", "got nan"]),
    ("training.pruning", "half", ["training.pruning", "null or a mapping"]),
    ("training.pruning", {"rungs": [0.5, 1.0], "keep": 0.5}, ["training.pruning.rungs[1]"]),
    ("training.pruning", {"rungs": [0.5], "keep": 1.5}, ["training.pruning.keep", "(0, 1)"]),
    ("training.pruning", {"rungs": [0.5]}, ["training.pruning.keep", "missing"]),
    ("training.pruning", {"rungs": [], "keep": 0.5}, ["training.pruning.rungs", "non-empty"]),
    ("training.pruning", {"rungs": [0.5], "keep": 0.5, "eta": 3}, ["training.pruning.eta"]),
    ("training.test_size", 0, ["training.test_size", "1..1000000"]),
    ("training.test_size", 10**9, ["training.test_size", "1..1000000"]),
    ("sweeps.ci.training.test_size", 2.5, ["sweeps.ci.training.test_size", "an integer"]),
    # the verdicts block
    ("verdicts.confidence", 1.5, ["verdicts.confidence", "(0.5, 1)"]),
    ("verdicts.confidence", NAN, ["verdicts.confidence", "got nan"]),
    ("verdicts.near_perfect.paper1", 0, ["verdicts.near_perfect.paper1", "(0, 1]"]),
    ("verdicts.near_perfect.paper2", INF, ["verdicts.near_perfect.paper2", "got inf"]),
    ("verdicts.near_perfect", {"paper1": 0.99}, ["verdicts.near_perfect.paper2", "missing"]),
    ("verdicts.edge_tolerance", -0.1, ["verdicts.edge_tolerance", "[0, 1]"]),
    ("verdicts.improving_tolerance", "small", ["verdicts.improving_tolerance", "'small'"]),
    ("verdicts.min_seeds", 0, ["verdicts.min_seeds", "1..1000"]),
    ("verdicts.min_learning_rates", 2.5, ["verdicts.min_learning_rates", "an integer"]),
    # the cluster, istree and constructions blocks
    ("cluster.gpus", 10**6, ["cluster.gpus", "0..64"]),
    ("cluster.signal_seconds", 10**9, ["cluster.signal_seconds", "0..86400"]),
    ("cluster.mem_factor", INF, ["cluster.mem_factor", "got inf"]),
    ("cluster.partiton", "gpu", ["cluster.partiton", "unknown key", "partition"]),
    ("istree.sizes.tiny.transformer.width", 2**40, ["istree.sizes.tiny.transformer.width"]),
    ("istree.sweeps.ci.grid.0.n", [10**9], ["istree.sweeps.ci.grid[0].n[0]", "4..4096"]),
    ("istree.training.max_steps", 10**15, ["istree.training.max_steps", "1..10000000"]),
    ("istree.training.data_seed", 2**70, ["istree.training.data_seed"]),
    ("istree.training.threshold", NAN, ["istree.training.threshold", "got nan"]),
    ("istree.sweeps.constructions", {"grid": []}, ["istree.sweeps.constructions"]),
    ("constructions.alphabet", 8.5, ["constructions.alphabet", "2..64"]),
    ("constructions.seed", 2**70, ["constructions.seed", "0..2147483647"]),
    ("constructions.orthogonality.lengths", [10**9], ["constructions.orthogonality.lengths[0]"]),
    (
        "constructions.index_lookup.precision.eta",
        [INF],
        ["constructions.index_lookup.precision.eta"],
    ),
    # the sweep
    ("sweep", 5, ["config key sweep:", "a string"]),
    ("sweep", "nosuch", ["config key sweep:", "'nosuch'", "ci, cpu"]),
]


def refusal(config: dict) -> str:
    with pytest.raises(sweep_config.ConfigError) as error:
        sweep_config.validate(config)
    return str(error.value)


def assert_one_line(message: str, key: str) -> None:
    assert "\n" not in message, message
    assert message.startswith(f"config key {key}"), message
    assert len(message) < 400, message


@pytest.mark.parametrize("path, value, expected", TABLE, ids=[f"{t[0]}={t[1]!r}" for t in TABLE])
def test_bad_value_is_refused_in_one_line_naming_the_key(path, value, expected):
    message = refusal(mutate(BASE, path, value))
    assert_one_line(message, expected[0].removeprefix("config key ").rstrip(":"))
    for fragment in expected:
        assert fragment in message, message


def test_a_wrong_task_parameter_is_not_reported_at_a_grid_block():
    message = refusal(mutate(BASE, "tasks.idxl.train_lengths", "sometimes"))
    assert "grid" not in message and "sweeps" not in message, message


# -- the config file as text ----------------------------------------------------------------


def committed_text() -> str:
    return (ROOT / "config.yaml").read_text()


def test_duplicated_yaml_keys_are_refused(tmp_path):
    text = committed_text()
    match = re.search(r"^  max_steps: .*$", text, flags=re.M)
    doubled = text[: match.end()] + "\n  max_steps: 5" + text[match.end() :]
    path = tmp_path / "config.yaml"
    path.write_text(doubled)
    line = text[: match.start()].count("\n") + 1
    with pytest.raises(sweep_config.ConfigError) as error:
        sweep_config.load(path)
    message = str(error.value)
    assert_one_line(message, "training.max_steps")
    assert f"given twice in {path} (lines {line} and {line + 1})" in message


def test_a_yaml_syntax_error_names_the_file_and_line(tmp_path):
    lines = committed_text().splitlines()
    lines.insert(5, "sweeps: [ci")
    path = tmp_path / "config.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(sweep_config.ConfigError) as error:
        sweep_config.load(path)
    message = str(error.value)
    assert "\n" not in message and re.match(rf"{re.escape(str(path))}, line \d+", message)
    assert "not valid YAML" in message


def test_a_config_file_that_is_not_a_mapping_is_refused(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("- sweep\n- ci\n")
    with pytest.raises(sweep_config.ConfigError, match="top level must be a mapping"):
        sweep_config.check_files([path])


def test_exponent_without_decimal_point_is_explained(tmp_path):
    text = re.sub(r"(?m)^(  learning_rates: )\[.*\]", r"\1[1e-3]", committed_text(), count=1)
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(sweep_config.ConfigError) as error:
        sweep_config.load(path)
    assert "training.learning_rates[0]: got '1e-3'" in str(error.value)
    assert "write 1.0e-3" in str(error.value)


def test_command_line_values_are_typed_before_validation():
    # what Snakemake hands over for --config 'training={max_steps: 5}' sweep=ci
    config = copy.deepcopy(BASE)
    given = {"training": {"max_steps": "5", "learning_rates": ["1.0e-3", "3.0e-4"]}, "sweep": "ci"}
    for key, value in given.items():
        if isinstance(value, dict):
            config[key].update(value)
        else:
            config[key] = value
    sweep_config.command_line_values(config, given)
    assert config["training"]["max_steps"] == 5
    assert config["training"]["learning_rates"] == [1e-3, 3e-4]
    assert config["sweep"] == "ci"
    sweep_config.validate(config)
    config["training"]["max_steps"] = "1e15"
    sweep_config.command_line_values(config, {"training": {"max_steps": "1e15"}})
    message = refusal(config)
    assert_one_line(message, "training.max_steps")
    assert "write 1000000000000000" in message


# -- through Snakemake ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def workflow(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("table") / "wf")


def error_lines(stdout: str) -> list[str]:
    """The lines Snakemake prints for an error raised while parsing the workflow."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("WorkflowError"))
    return [line for line in lines[start:] if line.strip()]


def refused_with_extra_config(workflow, extra: str) -> tuple[str, list[str], str]:
    """``snakemake -n`` with ``extra`` appended to the copy's config.yaml (restored after): it must
    fail in at most three lines. Returns (the original config.yaml, those lines, the output)."""
    original = (workflow / "config.yaml").read_text()
    try:
        (workflow / "config.yaml").write_text(original + extra)
        proc = snakemake(workflow, "-n", "--cores", "1", check=False)
        lines = error_lines(proc.stdout)
        assert proc.returncode != 0 and len(lines) <= 3, proc.stdout[-2000:]
        return original, lines, proc.stdout
    finally:
        (workflow / "config.yaml").write_text(original)


@pytest.mark.slow
def test_snakemake_names_file_and_line_of_a_yaml_error(workflow):
    original, lines, stdout = refused_with_extra_config(workflow, "extra: [1, 2\n")
    line = original.count("\n") + 2
    assert any(f"config.yaml, line {line}" in x and "not valid YAML" in x for x in lines)
    assert "Job stats" not in stdout


@pytest.mark.slow
def test_snakemake_refuses_duplicated_keys(workflow):
    _, lines, _ = refused_with_extra_config(workflow, "sweep: ci\n")
    assert any(x.startswith("config key sweep: given twice") for x in lines), lines


@pytest.mark.slow
def test_snakemake_types_nested_command_line_values(workflow):
    proc = snakemake(
        workflow, "-n", "--cores", "1", "--config", "training={max_steps: 5}", "sweep=ci"
    )
    assert "rule train" in proc.stdout or "Job stats" in proc.stdout
    proc = snakemake(
        workflow, "-n", "--cores", "1", "--config", "training={max_steps: 1e15}", check=False
    )
    lines = error_lines(proc.stdout)
    assert proc.returncode != 0 and len(lines) <= 3, proc.stdout[-2000:]
    assert any(x.startswith("config key training.max_steps: got '1e15'") for x in lines)


@pytest.mark.slow
def test_a_stale_lock_is_explained(workflow):
    job = next(iter(sweep_config.job_specs(BASE, "ci")))
    locks = workflow / ".snakemake" / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    (locks / "0.output.lock").write_text(f"results/ci/runs/{job}/metrics.parquet\n")
    try:
        proc = snakemake(
            workflow,
            "--cores",
            "1",
            "results/ci/metrics.parquet",
            "--config",
            "sweep=ci",
            check=False,
        )
        assert proc.returncode != 0, proc.stdout[-2000:]
        assert "LockException" in proc.stdout
        assert "snakemake --unlock" in proc.stdout and "pkill -f separations.train" in proc.stdout
        assert not (workflow / "results" / "ci").exists()
        snakemake(workflow, "--unlock")
        assert not any(locks.glob("*.lock"))
    finally:
        for lock in locks.glob("*.lock"):
            lock.unlink()
