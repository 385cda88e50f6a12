"""What every layer shares about job settings: the one error type, the one config hash, and the
checks of a task's parameters that the config validation and the data command both run.

- :class:`ConfigError`: a configuration (``config.yaml``, a sweep block, a command line's
  settings) cannot be run; the message names the key, the value given and what is allowed.
- :func:`config_hash`: the hash of everything that can change a run's numbers; checkpoints and
  result rows carry it (paper 1's jobs, paper 2's and the constructions block all use it).
- :func:`check_task_params`, :func:`key_path`, :func:`show`: task-parameter checks and the
  pieces of the one-line messages.

This module sits low (it needs only the task registry): the whole-config validation
(:mod:`separations.config`, which knows every study) imports it, never the other way round.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .errors import ConfigError
from .specs import JobSpec
from .tasks import TASKS

#: paper 1's settings that may change a run's numbers; they enter its config hash
NUMERIC_KEYS = (
    "task",
    "task_params",
    "model",
    "depth",
    "width",
    "heads",
    "length",
    "learning_rates",
    "seeds",
    "batch_size",
    "max_steps",
    "eval_every",
    "threshold",
    "stop_threshold",
    "pruning",
    "eval_size",
    "test_size",
    "data_seed",
    "threads",
)


#: the largest seed (training seeds and data_seed): it must fit every integer type it meets
MAX_SEED = 2**31 - 1
#: integer task parameters (symbols, keys, dimensions, lengths) stay below this
MAX_TASK_INT = 1_000_000


def config_hash(values: Mapping[str, Any], keys: Iterable[str] | None) -> str:
    """Hash of everything that can change a run's numbers (checkpoints and result rows carry it):
    the values of ``keys`` in ``values`` (a key the mapping lacks enters as null), or with
    ``keys=None`` the whole mapping. Each study names its keys: paper 1's are :data:`NUMERIC_KEYS`,
    paper 2's ``separations.istree.sweeps.NUMERIC_KEYS``; the constructions hash their block."""
    if keys is not None:
        values = {k: values.get(k) for k in keys}
    payload = json.dumps(values, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


#: one cell of a job table: its job id and its spec as a dict (the fields of the study's spec)
Cell = tuple[str, dict[str, Any]]


def expand(
    blocks: Iterable[tuple[str, Mapping[str, Any]]],
    training: Mapping[str, Any],
    axes: Sequence[str],
    cells: Callable[[dict[str, Any], dict[str, Any], str], Iterable[Cell]],
    build: Callable[[dict[str, Any], str], Any],
    keys: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The job table of one sweep of any study, by job id: the one expander of the package.

    ``blocks`` are the sweep's grid blocks, each with the config key that names it: lists of
    values per axis in ``axes`` and an optional ``training`` overlay on the sweep's ``training``.
    Each combination of axis values (the Cartesian product of a block) becomes the jobs that
    ``cells(values, settings, where)`` makes of it (a study may refuse a combination with a
    :class:`ConfigError` naming ``where``; paper 1 folds the heads of a family without heads
    into one job, which the block then makes once per listed head count, all equal). With
    ``keys`` every job carries its :func:`config_hash` of those fields (``config_hash``), and a
    job made by two blocks must agree on it (without, on every setting). ``build(spec, where)``
    makes the typed spec.
    """
    table: dict[str, tuple[dict[str, Any], str]] = {}

    def settings_of(spec: dict[str, Any]) -> Any:
        return spec["config_hash"] if keys is not None else spec

    for where, block in blocks:
        settings = {**training, **(block.get("training") or {})}
        for values in itertools.product(*(block[axis] for axis in axes)):
            for job, spec in cells(dict(zip(axes, values, strict=True)), settings, where):
                if keys is not None:
                    spec["config_hash"] = config_hash(spec, keys)
                old = table.get(job)
                if old is not None and settings_of(old[0]) != settings_of(spec):
                    raise ConfigError(
                        f"config key {where}: cell {job} appears in two grid blocks "
                        "with different training settings"
                    )
                table[job] = (spec, where)
    return {job: build(spec, where) for job, (spec, where) in table.items()}


def shape_name(depth: int, width: int, heads: int | None) -> str:
    return f"d{depth}-w{width}" + (f"-h{heads}" if heads else "")


# -- messages --------------------------------------------------------------------------------


def key_path(parts) -> str:
    """``["sweeps", "ci", "grid", 0, "length"]`` -> ``sweeps.ci.grid[0].length``."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def show(value: Any) -> str:
    """A value as the message shows it (YAML spelling, shortened)."""
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, float):
        big = math.isfinite(value) and value != 0 and not 1e-4 <= abs(value) < 1e6
        text = f"{value:.6g}" if big else repr(value)
    elif isinstance(value, int | str):
        text = repr(value)
    else:
        text = json.dumps(value, default=str, allow_nan=True)
    return text if len(text) <= 60 else text[:57] + "..."


def string_number_hint(value: Any, integer: bool = False) -> str:
    """Why a number arrived as a string, and how to write it (``integer``: an integer is due)."""
    if not isinstance(value, str):
        return ""
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        return ""
    if not math.isfinite(number):
        return ""
    match = re.fullmatch(r"([+-]?\d+)[eE]([+-]?\d+)", text)
    if integer:
        if not number.is_integer():
            return ""
        if match:
            return f" (YAML reads {text} as a string: write {int(number)})"
        return f" (a string: write {int(number)} without quotes)"
    if match:
        return (
            f" (YAML reads {text} without a decimal point as a string: write "
            f"{match.group(1)}.0e{match.group(2)})"
        )
    return " (a string: write the number without quotes)"


def is_number(x: Any) -> bool:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return False
    return isinstance(x, int) or math.isfinite(x)


# -- task parameters -------------------------------------------------------------------------


def _param_type(default: Any, value: Any) -> str | None:
    """What a task parameter with this default allows, or None when ``value`` is allowed."""
    integer = f"an integer 0..{MAX_TASK_INT}"
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "true or false"
    if isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TASK_INT
        return None if ok else integer
    if isinstance(default, float):
        return None if is_number(value) else "a finite number"
    if isinstance(default, str):
        return None if isinstance(value, str) else "a string"
    if default is None:
        ok = value is None or (
            isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TASK_INT
        )
        return None if ok else f"null or {integer}"
    return None


def check_task_params(task: str, params: Any, where: str, *, prefix: str = "config key ") -> None:
    """A block of task parameters (``tasks.<task>``, ``sweeps.<s>.tasks.<task>``, a command
    line's ``--params``): a known task, known parameters, each of its default's type."""
    if task not in TASKS:
        raise ConfigError(
            f"{prefix}{where}: unknown task {task!r}; allowed: {', '.join(sorted(TASKS))}"
        )
    if not isinstance(params, dict | None):
        raise ConfigError(
            f"{prefix}{where}: got {show(params)}; allowed: a mapping of parameter names of "
            f"task {task} to values"
        )
    defaults = TASKS[task].defaults
    for name, value in (params or {}).items():
        if name not in defaults:
            raise ConfigError(
                f"{prefix}{where}.{name}: unknown parameter of task {task}; "
                f"allowed: {', '.join(sorted(defaults)) or 'none (the task has no parameters)'}"
            )
        allowed = _param_type(defaults[name], value)
        if allowed is not None:
            raise ConfigError(
                f"{prefix}{where}.{name}: got {show(value)}; allowed: {allowed} "
                f"(the default is {show(defaults[name])})"
                f"{string_number_hint(value, integer=isinstance(defaults[name], int))}"
            )


def rung_steps(spec: JobSpec) -> list[int]:
    """Steps at which learning-rate pruning compares the runs: each rung's fraction of
    ``max_steps``, rounded to a multiple of ``eval_every`` (so an evaluation falls on it)."""
    pruning = spec.pruning
    if not pruning or len(spec.learning_rates) < 2:
        return []
    every, total = spec.eval_every, spec.max_steps
    steps = {max(every, round(f * total / every) * every) for f in pruning["rungs"]}
    return sorted(s for s in steps if s < total)
