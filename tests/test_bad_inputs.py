"""Command lines answer bad arguments and bad input files with one line naming the file and the
problem, and a non-zero exit status; aggregation refuses duplicated and empty inputs alike."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ROOT

from separations import aggregate as metrics_aggregate
from separations import config as sweep_config
from separations.config import RESULT_SCHEMAS
from separations.constructions import sweep as constructions
from separations.data import main as data_main
from separations.data import read_batch
from separations.istree import aggregate as istree_aggregate
from separations.istree import schema as istree_schema
from separations.results import METRICS_SCHEMA, load_results, metrics_table
from separations.train import main as train_main


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


@pytest.fixture(scope="module")
def valid(tmp_path_factory):
    """A good evaluation set of the ci sweep's Index Lookup job (N = 12), and files that are not."""
    folder = tmp_path_factory.mktemp("inputs")
    good = folder / "valid.parquet"
    assert data_main(["idxl", "--length", "12", "--count", "20", "--seed", "1",
                      "--out", str(good)]) == 0  # fmt: skip
    table = pq.read_table(good)
    bad = {
        "no-metadata": table.replace_schema_metadata(None),
        "zero-rows": table.slice(0, 0),
        "wrong-schema": pa.table({"inputs": [1, 2], "answer": [0, 1]}),
    }
    for name, t in bad.items():
        pq.write_table(t, folder / f"{name}.parquet")
    data = good.read_bytes()
    (folder / "truncated.parquet").write_bytes(data[: len(data) // 2])
    (folder / "text.parquet").write_text("not parquet\n")
    other = folder / "other-length.parquet"
    assert data_main(["idxl", "--length", "14", "--count", "5", "--seed", "1",
                      "--out", str(other)]) == 0  # fmt: skip
    return folder


BAD_FILES = {
    "no-metadata": "no metadata",
    "zero-rows": "no examples",
    "wrong-schema": "no columns",
    "truncated": "not a readable Parquet file",
    "text": "not a readable Parquet file",
    "missing": "no such file",
}


@pytest.mark.parametrize("name, problem", BAD_FILES.items())
def test_read_batch_names_the_file_and_the_problem(valid, name, problem):
    path = valid / f"{name}.parquet"
    with pytest.raises(ValueError) as error:
        read_batch(path)
    assert str(path) in str(error.value) and problem in str(error.value)
    assert "\n" not in str(error.value)


# -- python -m separations.data ---------------------------------------------------------------

DATA_CASES = [
    (["--params", "[1,2]"], "--params: got [1, 2]"),
    (["--params", '{"alphabet": "8"}'], "--params.alphabet: got '8'"),
    (["--params", '{"alphabett": 8}'], "--params.alphabett: unknown parameter"),
    (["--params", '{"alphabet": 1000}'], "alphabet must be in 2..64"),
    (["--params", "{not json"], "--params: not JSON"),
    (["--seed", str(2**70)], "--seed: got 1180591620717411303424"),
    (["--count", "0"], "--count: got 0"),
    (["--length", str(10**9)], "--length: got 1000000000"),
]


@pytest.mark.parametrize("extra, expected", DATA_CASES, ids=[c[1] for c in DATA_CASES])
def test_data_answers_bad_arguments_in_one_line(tmp_path, capsys, extra, expected):
    args = ["idxl", "--length", "12", "--count", "5", "--seed", "0"]
    args += ["--out", str(tmp_path / "o.parquet"), *extra]
    try:
        status = data_main(args)
    except SystemExit as e:  # argparse's errors
        status = e.code
    assert status == 2
    assert expected in one_line(capsys.readouterr().err)
    assert not (tmp_path / "o.parquet").exists()


def test_data_names_the_users_path_when_it_cannot_write(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    out = blocker / "o.parquet"  # a folder that is a file
    status = data_main(["idxl", "--length", "12", "--count", "5", "--seed", "0", "--out", str(out)])
    line = one_line(capsys.readouterr().err)
    assert status == 2 and f"cannot write {out}" in line and ".tmp" not in line


def test_data_names_a_bad_exclude_file(valid, tmp_path, capsys):
    bad = valid / "truncated.parquet"
    status = data_main(["idxl", "--length", "12", "--count", "5", "--seed", "0",
                        "--exclude", str(bad), "--out", str(tmp_path / "o.parquet")])  # fmt: skip
    assert status == 2 and str(bad) in one_line(capsys.readouterr().err)


def test_data_command_line_end_to_end_has_no_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "separations.data", "idxl", "--length", "12", "--count", "5",
         "--seed", "0", "--params", '{"alphabet": 8.5}', "--out", str(tmp_path / "o.parquet")],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "--params.alphabet: got 8.5" in one_line(proc.stderr)


# -- python -m separations.train ---------------------------------------------------------------


@pytest.fixture(scope="module")
def spec():
    specs = sweep_config.job_specs(sweep_config.load(), "ci")
    return next(s.to_dict() for s in specs.values() if s.task == "idxl" and s.length == 12)


@pytest.mark.parametrize("flag", ["--data", "--test"])
@pytest.mark.parametrize("name", [*BAD_FILES, "other-length"])
def test_train_refuses_bad_input_files_before_training(valid, spec, tmp_path, capsys, flag, name):
    path = valid / f"{name}.parquet"
    files = {"--data": valid / "valid.parquet", "--test": valid / "valid.parquet", flag: path}
    out = tmp_path / "job" / "metrics.parquet"
    status = train_main(["--spec", json.dumps(spec), "--data", str(files["--data"]),
                         "--test", str(files["--test"]), "--out", str(out)])  # fmt: skip
    line = one_line(capsys.readouterr().err)
    assert status == 2 and f"{flag} {path}" in line, line
    assert not out.exists()


def test_train_refuses_another_jobs_evaluation_set_in_its_studys_words(valid, tmp_path, capsys):
    """Paper 1 says N (the input length); an IsTree job says n (nodes) and names the format."""
    from separations.istree import sweeps as istree_sweeps
    from separations.istree.train import main as istree_main

    config = sweep_config.load()
    spec = next(iter(sweep_config.job_specs(config, "ci").values()))
    other = valid / "other-length.parquet"
    args = ["--data", str(other), "--out", str(tmp_path / "a" / "m.parquet")]
    assert train_main(["--spec", spec.to_json(), *args]) == 2
    line = one_line(capsys.readouterr().err)
    assert f"an evaluation set for idxl at N=14, not for this job's {spec.task} at N=" in line
    job = istree_sweeps.job_specs(config["istree"], "ci")["cot/mamba/tiny/n4"]
    nocot = tmp_path / "nocot.parquet"
    assert data_main(["istree", "--length", "4", "--count", "4", "--seed", "1",
                      "--params", '{"format": "nocot"}', "--out", str(nocot)]) == 0  # fmt: skip
    args = ["--data", str(nocot), "--out", str(tmp_path / "b" / "m.parquet")]
    assert istree_main(["--spec", job.to_json(), *args]) == 2
    line = one_line(capsys.readouterr().err)
    assert "for istree at n=4 (nocot), not for this job's istree at n=4 (cot)" in line, line


def test_train_refuses_a_spec_that_is_not_json(valid, tmp_path, capsys):
    status = train_main(["--spec", "{task: idxl", "--data", str(valid / "valid.parquet"),
                         "--out", str(tmp_path / "m.parquet")])  # fmt: skip
    assert status == 2 and "--spec: not JSON" in one_line(capsys.readouterr().err)


# -- aggregation ---------------------------------------------------------------------------------


def metrics_file(path, job: str):
    row = {name: None for name in METRICS_SCHEMA.names}
    pq.write_table(metrics_table([{**row, "job": job, "lr": 1e-3, "seed": 0, "step": 0}]), path)
    return str(path)


def istree_file(path, job: str):
    row = {name: None for name in istree_schema.ISTREE_SCHEMA.names}
    pq.write_table(istree_schema.table([{**row, "job": job}]), path)
    return str(path)


def constructions_file(path, study: str, length: int):
    row = {name: None for name in constructions.CONSTRUCTIONS_SCHEMA.names}
    rows = [{**row, "study": study, "search": "s", "length": length}]
    pq.write_table(pa.Table.from_pylist(rows, schema=constructions.CONSTRUCTIONS_SCHEMA), path)
    return str(path)


AGGREGATORS = {
    "metrics": (metrics_aggregate.main, metrics_file, []),
    "istree": (istree_aggregate.main, istree_file, []),
    "constructions": (constructions.main, constructions_file, ["aggregate"]),
}


def make(kind: str, tmp_path):
    """The aggregation command of ``kind``, two good job files and a copy of the first one's job."""
    main, write, prefix = AGGREGATORS[kind]
    if kind == "constructions":
        first, second = ("orthogonality", 10), ("orthogonality", 30)
    else:
        first, second = ("idxl/lstm/d1-w16/N12",), ("idxl/lstm/d1-w16/N20",)
    (tmp_path / "copy").mkdir()
    a = write(tmp_path / "a.parquet", *first)
    b = write(tmp_path / "b.parquet", *second)
    same_job = write(tmp_path / "copy" / "a.parquet", *first)
    return (lambda *args: main([*prefix, *args])), a, b, same_job


@pytest.mark.parametrize("kind", AGGREGATORS)
def test_aggregation_refuses_duplicated_and_empty_inputs(tmp_path, capsys, kind):
    run, a, b, same_job = make(kind, tmp_path)
    out = tmp_path / "out.parquet"
    assert run("--out", str(out), a, b) == 0
    capsys.readouterr()
    out.unlink()
    for paths, expected in [
        ([a, b, a], f"{a}: given twice"),
        ([a, b, f"{tmp_path}/./a.parquet"], "given twice"),
        ([a, b, same_job], "is also in"),
        ([], "no"),
    ]:
        assert run("--out", str(out), *paths) == 1, paths
        line = one_line(capsys.readouterr().err)
        assert expected in line, line
        assert not out.exists()


def test_an_empty_istree_table_only_when_asked(tmp_path):
    out = tmp_path / "istree.parquet"
    assert istree_aggregate.main(["--out", str(out)]) == 1 and not out.exists()
    assert istree_aggregate.main(["--allow-empty", "--out", str(out)]) == 0
    assert pq.read_table(out).num_rows == 0


# -- --input NAME=PATH of the report and the figures ----------------------------------------------


@pytest.mark.parametrize(
    "pair, expected",
    [
        ("metrics", "expected NAME=PATH"),
        ("=x.parquet", "expected NAME=PATH"),
        ("metrics={missing}", "no such file"),
        ("metrics={text}", "not a readable Parquet file"),
        ("metrics={foreign}", "does not match the metrics schema"),
    ],
)
def test_input_pairs_are_answered_in_one_line(valid, tmp_path, capsys, pair, expected):
    pair = pair.format(
        missing=tmp_path / "nope.parquet",
        text=valid / "text.parquet",
        foreign=valid / "wrong-schema.parquet",
    )
    with pytest.raises(SystemExit) as error:
        load_results([pair])
    assert error.value.code == 2
    assert expected in one_line(capsys.readouterr().err)


@pytest.mark.parametrize("name", ["metrics", "istree", "constructions", "critical_width", "recall"])
def test_every_result_table_is_schema_checked_on_read(valid, capsys, name):
    """The report and figures read every table of config.yaml `results` checked."""
    with pytest.raises(SystemExit) as error:
        load_results([f"{name}={valid / 'wrong-schema.parquet'}"], RESULT_SCHEMAS)
    assert error.value.code == 2
    assert "does not match the" in one_line(capsys.readouterr().err)


def test_input_pairs_load_good_files(tmp_path):
    path = metrics_file(tmp_path / "m.parquet", "idxl/lstm/d1-w16/N12")
    other = tmp_path / "t.parquet"
    shutil.copy(path, other)
    loaded = load_results([f"metrics={path}", f"other={other}"])
    assert set(loaded) == {"metrics", "other"} and len(loaded["metrics"]) == 1


def test_a_table_of_several_files_is_read_as_one(tmp_path, capsys):
    """config.yaml `results` may list several sweeps' files for one table (the IsTree table of
    the reported sweep and of cpu_small): their rows are concatenated, schema-checked; the same
    file twice, or a sweep's job in two of them, is refused in one line (the aggregation's own
    check, results.refuse_duplicates)."""

    def write(name, sweep, job):
        row = {k: None for k in istree_schema.ISTREE_SCHEMA.names}
        path = tmp_path / name
        pq.write_table(istree_schema.table([{**row, "sweep": sweep, "job": job}]), path)
        return str(path)

    a = write("a.parquet", "cpu", "cot/mamba/40k/n10")
    b = write("b.parquet", "cpu_small", "cot/mamba/13k/n10")
    same = write("same.parquet", "cpu", "cot/mamba/40k/n10")
    other_sweep = write("c.parquet", "ci", "cot/mamba/40k/n10")
    loaded = load_results([f"istree={a}", f"istree={b}", f"istree={other_sweep}"], RESULT_SCHEMAS)
    assert sorted(loaded["istree"]["sweep"]) == ["ci", "cpu", "cpu_small"]
    for pairs, expected in [
        ([a, b, a], "given twice"),
        ([a, b, f"{tmp_path}/./b.parquet"], "given twice"),
        ([a, same], "sweep=cpu, job=cot/mamba/40k/n10 is also in"),
    ]:
        with pytest.raises(SystemExit) as error:
            load_results([f"istree={p}" for p in pairs], RESULT_SCHEMAS)
        assert error.value.code == 2
        assert expected in one_line(capsys.readouterr().err)
    # files of another table's schema are refused as before, whichever comes first
    with pytest.raises(SystemExit):
        load_results([f"istree={a}", f"istree={metrics_file(tmp_path / 'm.parquet', 'x')}"],
                     RESULT_SCHEMAS)  # fmt: skip
    assert "does not match the" in one_line(capsys.readouterr().err)
