"""The ``istree`` block of config.yaml: named model sizes and sweeps, expanded into jobs.

A job is one (format, family, size, n) cell; it trains every learning rate (of its family) and
seed. :func:`check` finds what the JSON schema cannot (a size a family lacks, a shape that cannot
be built, a graph too small) and raises :class:`~separations.settings.ConfigError` naming the key.
"""

from __future__ import annotations

from typing import Any

from ..families import LM_EMBEDDINGS as EMBEDDINGS
from ..families import LM_FAMILIES as FAMILIES
from ..families import Shape
from ..settings import ConfigError, expand
from ..specs import IsTreeSpec, eval_set_params
from ..tasks.istree.formats import FORMATS, max_length
from ..tasks.istree.graphs import MIN_NODES

#: settings that may change a run's numbers; they enter the config hash
NUMERIC_KEYS = (
    "task",
    "graph",
    "format",
    "family",
    "n",
    "width",
    "depth",
    "ffn",
    "heads",
    "d_state",
    "embedding",
    "learning_rates",
    "seeds",
    "batch_size",
    "max_steps",
    "warmup_samples",
    "eval_every",
    "generate_every",
    "threshold",
    "eval_size",
    "test_size",
    "pruning",
    "data_seed",
    "threads",
)


def job_id(fmt: str, family: str, size: str, n: int) -> str:
    """The job's path below ``results/<sweep>/istree/runs/``."""
    return f"{fmt}/{family}/{size}/n{n}"


def _learning_rates(value, family: str, where: str) -> list[float]:
    if isinstance(value, dict):
        if family not in value:
            raise ConfigError(
                f"config key {where}.learning_rates: no learning rates for family {family!r}"
            )
        value = value[family]
    return [float(x) for x in value]


#: the axes of an IsTree grid block, in the order of the job table
AXES = ("format", "family", "size", "n")


def job_specs(block: dict[str, Any], sweep: str) -> dict[str, IsTreeSpec]:
    """Every job of ``sweep`` by job id ({} when the block has no such sweep): the Cartesian
    products of its grid blocks (:func:`separations.settings.expand`)."""
    sweeps = block.get("sweeps") or {}
    if sweep not in sweeps:
        return {}
    body = sweeps[sweep]
    graph = {"graph": "binary", **(block.get("task") or {})}["graph"]
    sizes = block["sizes"]

    def cells(cell: dict[str, Any], settings: dict[str, Any], where: str):
        fmt, family, size, n = (cell[axis] for axis in AXES)
        for axis, allowed in (("format", FORMATS), ("family", FAMILIES), ("size", sorted(sizes))):
            if cell[axis] not in allowed:
                raise ConfigError(
                    f"config key {where}.{axis}: unknown {axis} {cell[axis]!r}; "
                    f"allowed: {', '.join(allowed)}"
                )
        if family not in sizes[size]:
            raise ConfigError(f"config key istree.sizes.{size}: no shape for family {family!r}")
        if n < MIN_NODES:
            raise ConfigError(
                f"config key {where}.n: IsTree graphs need at least {MIN_NODES} nodes, got {n}"
            )
        shape = {"ffn": None, "heads": None, "d_state": 16, **sizes[size][family]}
        problems = Shape(
            family,
            shape["width"],
            shape["depth"],
            shape["ffn"] or 0,
            shape["heads"] or 0,
            shape["d_state"],
        ).problems()
        if problems:
            raise ConfigError(f"config key istree.sizes.{size}.{family}: " + "; ".join(problems))
        if settings["embedding"] not in EMBEDDINGS:
            raise ConfigError(
                f"config key {where}: unknown embedding {settings['embedding']!r}; "
                f"allowed: {', '.join(EMBEDDINGS)}"
            )
        spec = {
            "sweep": sweep,
            "job": job_id(fmt, family, size, n),
            "task": "istree",
            "graph": graph,
            "format": fmt,
            "family": family,
            "size": size,
            "n": n,
            "max_len": max_length(fmt, n),
            "width": shape["width"],
            "depth": shape["depth"],
            "ffn": shape["ffn"] if FAMILIES[family].attention else None,
            "heads": shape["heads"] if FAMILIES[family].attention else None,
            "d_state": shape["d_state"] if FAMILIES[family].ssm else None,
            **{k: v for k, v in settings.items() if k != "learning_rates"},
            "learning_rates": _learning_rates(settings["learning_rates"], family, where),
        }
        yield spec["job"], spec

    return expand(
        [(f"istree.sweeps.{sweep}.grid[{b}]", grid) for b, grid in enumerate(body["grid"])],
        {**block["training"], **(body.get("training") or {})},
        AXES,
        cells,
        lambda spec, where: IsTreeSpec.from_config(spec),
        keys=NUMERIC_KEYS,
    )


def eval_sets(jobs: dict[str, IsTreeSpec]) -> dict[str, dict[str, Any]]:
    """The evaluation sets the jobs read, by ``<format>/n<n>``: the validation set's count and
    seed, the held-out test set's (drawn disjoint from validation) and the task parameters."""
    out: dict[str, dict[str, Any]] = {}
    for spec in jobs.values():
        key = f"{spec.format}/n{spec.n}"
        want = {"format": spec.format, "n": spec.n, **eval_set_params(spec)}
        if key in out and out[key] != want:
            raise ConfigError(
                f"config key istree.sweeps.{spec.sweep}: jobs at format {spec.format} and "
                f"n={spec.n} disagree on eval_size, test_size or data_seed (they share the "
                "evaluation sets)"
            )
        out[key] = want
    return out


def _family_keys(block: dict[str, Any]):
    """(config key, family name) of every family named as a key: the sizes' shapes and the
    per-family learning rates (the schema admits any such name; the registry decides)."""
    for size, shapes in (block.get("sizes") or {}).items():
        for family in shapes:
            yield f"istree.sizes.{size}.{family}", family
    overlays = [("istree.training", block.get("training"))]
    for sweep, body in (block.get("sweeps") or {}).items():
        overlays.append((f"istree.sweeps.{sweep}.training", body.get("training")))
        for b, grid in enumerate(body.get("grid") or []):
            overlays.append((f"istree.sweeps.{sweep}.grid[{b}].training", grid.get("training")))
    for where, training in overlays:
        rates = (training or {}).get("learning_rates")
        if isinstance(rates, dict):
            yield from ((f"{where}.learning_rates.{family}", family) for family in rates)


def check(block: dict[str, Any]) -> dict[str, dict[str, IsTreeSpec]]:
    """Expand every sweep (raising ConfigError on the first problem); jobs by sweep."""
    for where, family in _family_keys(block):
        if family not in FAMILIES:
            raise ConfigError(
                f"config key {where}: unknown family {family!r}; allowed: {', '.join(FAMILIES)}"
            )
    jobs = {sweep: job_specs(block, sweep) for sweep in block.get("sweeps") or {}}
    for specs in jobs.values():
        eval_sets(specs)
    return jobs
