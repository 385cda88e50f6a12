"""Files are written as a user expects: with the process umask, synced before they are reported
written, never half-written, and without temporary files left behind by a killed writer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ROOT

from separations import results
from separations.results import write_atomic, write_table

#: a writer that starts writing ``target`` (a Parquet table of ``rows`` rows, replacing the old
#: one) and then stops mid-write until killed; ``--finish`` writes it completely
WRITER = textwrap.dedent(
    """
    import signal, sys, time
    import pyarrow as pa, pyarrow.parquet as pq
    from separations.results import write_atomic

    signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal (not inherited)

    target, rows, finish = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "finish"
    table = pa.table({"x": list(range(rows))})

    def write(tmp):
        with pq.ParquetWriter(tmp, table.schema) as out:
            out.write_table(table.slice(0, rows // 2))
            if not finish:
                print("writing", flush=True)
                time.sleep(600)
            out.write_table(table.slice(rows // 2))

    write_atomic(target, write)
    print("done", flush=True)
    """
)


def writer(target, rows: int, finish: bool) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(target), str(rows), "finish" if finish else "stop"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def temps(target) -> list:
    return sorted(target.parent.glob(f".{target.name}.*.tmp"))


def start_and_stop_mid_write(target, rows: int = 1000) -> subprocess.Popen:
    proc = writer(target, rows, finish=False)
    assert proc.stdout.readline().strip() == "writing", proc.stderr.read()
    assert len(temps(target)) == 1
    return proc


@pytest.fixture
def target(tmp_path):
    path = tmp_path / "out" / "metrics.parquet"
    write_table(pa.table({"x": [1, 2, 3]}), path)
    return path


def test_sigkill_mid_write_leaves_the_target_intact_and_the_next_write_sweeps(target):
    proc = start_and_stop_mid_write(target)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert pq.read_table(target).column("x").to_pylist() == [1, 2, 3]  # untouched
    assert len(temps(target)) == 1  # what SIGKILL leaves: nothing can run on it
    time.sleep(0.05)  # the next writer starts after the temporary file was last written
    again = writer(target, 10, finish=True)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert temps(target) == []
    assert pq.read_table(target).column("x").to_pylist() == list(range(10))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_or_sigint_mid_write_removes_the_temporary_file(target, signum):
    proc = start_and_stop_mid_write(target)
    proc.send_signal(signum)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    assert temps(target) == []
    assert pq.read_table(target).column("x").to_pylist() == [1, 2, 3]


def test_a_running_writers_temporary_file_is_not_swept(tmp_path):
    """A temporary file this process is writing is never taken for a dead writer's."""
    target = tmp_path / "t.txt"
    seen = []

    def write(tmp):
        os.utime(tmp, (0, 0))  # as old as a dead writer's
        results._sweep_stale(target)  # what a write of the same target does first
        seen.append(os.path.exists(tmp))
        with open(tmp, "w") as f:
            f.write("x")

    write_atomic(target, write)
    assert seen == [True] and target.read_text() == "x"


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_files_are_created_with_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        write_table(pa.table({"x": [1]}), tmp_path / "t.parquet")
        write_atomic(tmp_path / "t.txt", lambda tmp: Path(tmp).write_text("x"))
    finally:
        os.umask(old)
    assert (tmp_path / "t.parquet").stat().st_mode & 0o777 == mode
    assert (tmp_path / "t.txt").stat().st_mode & 0o777 == mode


def test_the_file_and_its_folder_are_synced_before_the_write_returns(tmp_path, monkeypatch):
    synced = []
    real = os.fsync

    def fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    target = tmp_path / "t.txt"
    write_atomic(target, lambda tmp: Path(tmp).write_text("x"))
    assert len(synced) == 2
    assert synced[0].startswith(str(tmp_path / ".t.txt.")) and synced[1] == str(tmp_path)


def test_an_error_names_the_users_path_not_the_temporary_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError) as error:
        write_atomic(blocker / "t.txt", lambda tmp: Path(tmp).write_text(""))
    assert error.value.filename == str(blocker / "t.txt")

    def full(tmp):
        raise OSError(28, "No space left on device", tmp)

    with pytest.raises(OSError) as error:
        write_atomic(tmp_path / "t.txt", full)
    assert error.value.filename == str(tmp_path / "t.txt") and error.value.errno == 28
    assert list(tmp_path.iterdir()) == [blocker]
