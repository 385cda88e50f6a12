"""Load and check ``config.yaml`` and expand its sweeps into a job table.

The JSON schema (``workflow/schemas/config.schema.json``) checks types and ranges; :func:`check`
adds what needs the registries (task and model names, shapes a family can build, lengths a task can
make). Both run when Snakemake parses the workflow, so a bad config stops it before any job starts,
with one message naming the key.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .models import FAMILIES, check_shape
from .tasks import TASKS, TaskConfigError

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.json"

#: settings that may change a run's numbers; they enter the config hash
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


class ConfigError(ValueError):
    """The configuration cannot be run; the message names the key and the allowed values."""


def load(path: str | Path = ROOT / "config.yaml") -> dict[str, Any]:
    with open(path) as f:
        config = yaml.safe_load(f)
    validate_schema(config)
    check(config)
    return config


def validate_schema(config: dict[str, Any]) -> None:
    """The JSON-schema check, with the failing key spelled out (used outside Snakemake)."""
    import jsonschema

    schema = json.loads(SCHEMA.read_text())
    errors = sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(config), key=lambda e: e.path
    )
    if errors:
        e = errors[0]
        key = ".".join(str(p) for p in e.absolute_path) or "(top level)"
        raise ConfigError(f"config key {key}: {e.message}")


def check(config: dict[str, Any]) -> None:
    """Checks that need the registries. Raises ConfigError naming the first bad key."""
    for name, params in config["tasks"].items():
        if name not in TASKS:
            raise ConfigError(
                f"config key tasks.{name}: unknown task {name!r}; "
                f"allowed: {', '.join(sorted(TASKS))}"
            )
        extra = sorted(set(params or {}) - set(TASKS[name].defaults))
        if extra:
            raise ConfigError(
                f"config key tasks.{name}: unknown parameter(s) {extra}; "
                f"allowed: {', '.join(sorted(TASKS[name].defaults))}"
            )
    for figure, names in config["figures"].items():
        unknown = sorted(set(names) - set(config["results"]))
        if unknown:
            raise ConfigError(
                f"config key figures.{figure}: unknown result table(s) {unknown}; "
                f"allowed: {', '.join(sorted(config['results']))}"
            )
    for sweep, body in config["sweeps"].items():
        for name in body.get("tasks") or {}:
            if name not in TASKS:
                raise ConfigError(
                    f"config key sweeps.{sweep}.tasks.{name}: unknown task {name!r}; "
                    f"allowed: {', '.join(sorted(TASKS))}"
                )
    if config["sweep"] not in config["sweeps"]:
        raise ConfigError(
            f"config key sweep: no sweep named {config['sweep']!r}; "
            f"allowed: {', '.join(sorted(config['sweeps']))}"
        )
    for sweep in config["sweeps"]:
        jobs(config, sweep)


def task_params(config: dict[str, Any], sweep: str, task: str) -> dict[str, Any]:
    """A task's parameters in a sweep: the global ``tasks`` block, then the sweep's overrides."""
    body = config["sweeps"][sweep]
    return {**(config["tasks"].get(task) or {}), **((body.get("tasks") or {}).get(task) or {})}


def _check_block(config: dict[str, Any], sweep: str, where: str, block: dict[str, Any]) -> None:
    for task in block["task"]:
        if task not in TASKS:
            raise ConfigError(
                f"config key {where}.task: unknown task {task!r}; "
                f"allowed: {', '.join(sorted(TASKS))}"
            )
        for length in block["length"]:
            try:
                TASKS[task](length, **task_params(config, sweep, task))
            except TaskConfigError as e:
                raise ConfigError(f"config key {where}.length: {e}") from None
    for model in block["model"]:
        if model not in FAMILIES:
            raise ConfigError(
                f"config key {where}.model: unknown model {model!r}; "
                f"allowed: {', '.join(sorted(FAMILIES))}"
            )
        heads_list = block.get("heads", [None]) if FAMILIES[model].uses_heads else [None]
        for depth, width, heads in itertools.product(block["depth"], block["width"], heads_list):
            problems = check_shape(model, depth, width, heads)
            if problems:
                raise ConfigError(f"config key {where}: " + "; ".join(problems))


def shape_name(depth: int, width: int, heads: int | None) -> str:
    return f"d{depth}-w{width}" + (f"-h{heads}" if heads else "")


def job_id(task: str, model: str, depth: int, width: int, heads: int | None, length: int) -> str:
    """The job's path below ``results/<sweep>/runs/``: task/model/shape/N<length>."""
    return f"{task}/{model}/{shape_name(depth, width, heads)}/N{length}"


def config_hash(spec: dict[str, Any]) -> str:
    """Hash of everything that can change a run's numbers (checkpoints must match it)."""
    payload = json.dumps({k: spec[k] for k in NUMERIC_KEYS}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def job_specs(config: dict[str, Any], sweep: str) -> dict[str, dict[str, Any]]:
    """Every training job of ``sweep`` by job id: a (task, model, depth, width, heads, N) cell.

    Grid blocks are Cartesian products; the sweep is their union. A cell listed twice with
    different run settings is an error. Families without heads drop the heads axis.
    """
    if sweep not in config["sweeps"]:
        raise ConfigError(
            f"no sweep named {sweep!r}; allowed: {', '.join(sorted(config['sweeps']))}"
        )
    body = config["sweeps"][sweep]
    base = {**config["training"], **(body.get("training") or {})}
    rows: dict[str, dict[str, Any]] = {}
    for b, block in enumerate(body["grid"]):
        where = f"sweeps.{sweep}.grid[{b}]"
        _check_block(config, sweep, where, block)
        settings = {**base, **(block.get("training") or {})}
        for task, model, depth, width, length in itertools.product(
            block["task"], block["model"], block["depth"], block["width"], block["length"]
        ):
            heads_list = block.get("heads", [None]) if FAMILIES[model].uses_heads else [None]
            for heads in heads_list:
                spec = {
                    "sweep": sweep,
                    "job": job_id(task, model, depth, width, heads, length),
                    "task": task,
                    "task_params": task_params(config, sweep, task),
                    "model": model,
                    "depth": depth,
                    "width": width,
                    "heads": heads,
                    "length": length,
                    **settings,
                }
                spec["learning_rates"] = [float(x) for x in spec["learning_rates"]]
                spec["config_hash"] = config_hash(spec)
                old = rows.get(spec["job"])
                if old is not None and old["config_hash"] != spec["config_hash"]:
                    raise ConfigError(
                        f"config key {where}: cell {spec['job']} appears in two grid blocks "
                        "with different training settings"
                    )
                rows[spec["job"]] = spec
    return rows


def jobs(config: dict[str, Any], sweep: str) -> pd.DataFrame:
    """The sweep as a table, one row per job, indexed by job id."""
    return pd.DataFrame(list(job_specs(config, sweep).values())).set_index("job", drop=False)
