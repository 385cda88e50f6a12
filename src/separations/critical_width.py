"""The critical-width study: the smallest width that learns Index Lookup, against N, per family.

    python -m separations.critical_width run --spec '<json>' --validation V --test T --out OUT
    python -m separations.critical_width aggregate --out results/<sweep>/critical_width.parquet \\
        results/<sweep>/critical_width/runs/*/*/metrics.parquet

Settings: config.yaml ``critical_width.<sweep>`` (schema: the ``critical_width_study`` definition
of separations/schemas/config.schema.json). One job per (study, family, N) trains width after width
of the study's doubling grid, each width with :func:`separations.train.train_job` under the usual
protocol (every learning rate and seed, pruning, validation chooses, test is reported), each in
its own sub-folder ``w<width>/`` (a restarted job reuses finished widths and finished runs). After
each width the cell is scored with :func:`separations.summary.cells`; the search stops at the
first *solved* width and trains one width above it (the check). A family that never solves below
the grid's last width (the cap) is kept: its cell is "above the cap", a lower bound. The job
writes every evaluation row it trained (``METRICS_SCHEMA``), so aggregation is
:func:`separations.results.concat_checked`.

The alphabet is recorded with the results through the ``chance`` column: Index Lookup's chance
accuracy is 1/|alphabet|, so :func:`summarize` reports ``alphabet = round(1 / chance)``.

**Critical width** (:func:`summarize`, one row per (family, N)):

- ``critical_width``: the smallest trained width whose cell is solved (the cell's interval —
  Student t over seeds at the validation-chosen learning rate, widened to every seed's Wilson
  interval — clears the threshold). If no trained width is solved, ``critical_width`` is the
  largest trained width (the cap when the search reached it) and ``capped`` is true: the critical
  width is *above* it, a lower bound.
- The interval over seeds, ``seed_low .. seed_high`` with ``seed_median``: per seed, the smallest
  trained width whose run *at that width's chosen learning rate* has a test Wilson interval whose
  lower end clears the threshold; a seed that never does counts as the largest trained width (a
  lower bound; ``seeds_capped`` counts them). Then the median and min..max over seeds.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from .errors import ConfigError
from .specs import ClassifierSpec, CriticalWidthSpec
from .summary import SOLVED, Protocol, cells, runs

log = logging.getLogger("separations.critical_width")

#: the study's task (the theorems bound the width needed for Index Lookup)
TASK = "idxl"
#: training settings a study may set (the rest come from config.yaml ``training``)
TRAINING_KEYS = (
    "learning_rates",
    "seeds",
    "batch_size",
    "max_steps",
    "eval_every",
    "checkpoint_every",
    "threshold",
    "stop_threshold",
    "pruning",
    "eval_size",
    "test_size",
    "eval_batch_size",
    "data_seed",
    "threads",
)


# -- the job table ---------------------------------------------------------------------------


def study_task_params(config: dict[str, Any], study: str) -> dict[str, Any]:
    """Index Lookup's parameters in a study: config.yaml ``tasks.idxl``, then the study's."""
    block = config["critical_width"][study]
    return {**(config["tasks"].get(TASK) or {}), **(block.get("task") or {})}


def study_jobs(config: dict[str, Any], study: str) -> dict[str, CriticalWidthSpec]:
    """Every job of a study by key ``<family>/N<length>``: the spec its command receives; the
    families × lengths of the study's block (:func:`separations.settings.expand`)."""
    from .settings import expand

    block = config["critical_width"][study]
    where = f"config key critical_width.{study}"
    training = {**config["training"], **(block.get("training") or {})}
    training = {k: training[k] for k in TRAINING_KEYS if k in training}
    training["learning_rates"] = [float(x) for x in training["learning_rates"]]
    confidence = float((config.get("verdicts") or {}).get("confidence", 0.95))

    def cells(cell: dict[str, Any], settings: dict[str, Any], _where: str):
        shape = block["families"][cell["model"]]
        spec = {
            "study": study,
            "task": TASK,
            "task_params": study_task_params(config, study),
            "model": cell["model"],
            "depth": int(shape["depth"]),
            "heads": shape.get("heads"),
            "length": int(cell["length"]),
            "widths": [int(w) for w in block["widths"]],
            "confidence": confidence,
            **settings,
        }
        yield f"{cell['model']}/N{cell['length']}", spec

    return expand(
        [
            (
                f"critical_width.{study}",
                {"model": list(block["families"]), "length": block["lengths"]},
            )
        ],
        training,
        ("model", "length"),
        cells,
        lambda spec, _where: CriticalWidthSpec.from_dict(spec, where=where),
    )


def width_spec(spec: CriticalWidthSpec, width: int) -> ClassifierSpec:
    """The :func:`separations.train.train_job` spec of one width of a job."""
    from .families import FAMILIES
    from .settings import NUMERIC_KEYS, config_hash, shape_name

    heads = spec.heads if FAMILIES[spec.model].uses_heads else None
    whole = spec.to_dict()
    out = {k: v for k, v in whole.items() if k not in ("study", "widths", "confidence")}
    out.update(
        sweep=spec.study,
        job=f"critical_width/{TASK}/{spec.model}/{shape_name(spec.depth, width, heads)}"
        f"/N{spec.length}",
        width=int(width),
        heads=heads,
    )
    out["config_hash"] = config_hash(out, NUMERIC_KEYS)
    return ClassifierSpec.from_dict(out)


# -- the search ------------------------------------------------------------------------------


def search(widths: list[int], status_of: Callable[[int], str]) -> list[int]:
    """The widths trained, in order: upwards from the smallest until ``status_of(width)`` is
    solved, then one width above it (the check), if the grid has one. ``status_of`` trains the
    width (or reads it back) and returns its cell's status."""
    trained = []
    for i, width in enumerate(widths):
        trained.append(width)
        if status_of(width) == SOLVED:
            if i + 1 < len(widths):
                trained.append(widths[i + 1])
                status_of(widths[i + 1])
            break
    return trained


def run_job(
    spec: CriticalWidthSpec | dict[str, Any],
    validation: str | Path,
    test: str | Path,
    out: str | Path,
    *,
    threads: int = 1,
    device: str = "auto",
    train=None,
) -> pa.Table:
    """Search the widths of one (family, N) job and write every row it trained to ``out``.

    Width ``w`` trains into ``<out folder>/w<w>/metrics.parquet``; a file there of this config
    (same hash) is reused, so a restarted job skips finished widths. ``train`` (default
    :func:`separations.train.train_job`) is replaceable for tests."""
    from .results import METRICS_SCHEMA, read_metrics, write_table

    if train is None:
        from .train import train_job as train
    spec = CriticalWidthSpec.from_dict(spec)
    protocol = Protocol(confidence=float(spec.confidence))
    folder = Path(out).parent
    tables: dict[int, pa.Table] = {}

    def status_of(width: int) -> str:
        wspec = width_spec(spec, width)
        path = folder / f"w{width}" / "metrics.parquet"
        table = None
        if path.exists():
            try:
                table = read_metrics(path)
                if set(table.column("config_hash").to_pylist()) != {wspec.config_hash}:
                    table = None
            except Exception as e:  # noqa: BLE001
                log.warning("%s: unreadable (%s); training the width again", path, e)
                table = None
        if table is None:
            train(
                wspec,
                validation,
                path,
                test=test,
                threads=threads,
                device=device,
                checkpoint_dir=path.parent / "checkpoints",
            )
            table = read_metrics(path)
        else:
            log.info("width %d: already trained, reusing %s", width, path)
        tables[width] = table
        cell = cells(table.to_pandas(), protocol)
        status = str(cell["status"].iloc[0])
        log.info(
            "%s N=%d width %d: %s (test %.4f [%.4f, %.4f])",
            spec.model,
            spec.length,
            width,
            status,
            cell["acc"].iloc[0],
            cell["low"].iloc[0],
            cell["high"].iloc[0],
        )
        return status

    trained = search(spec.widths, status_of)
    table = pa.concat_tables([tables[w] for w in trained]).cast(METRICS_SCHEMA)
    write_table(table, out)
    log.info("wrote %s: widths %s", out, trained)
    return table


# -- the summary -----------------------------------------------------------------------------


SUMMARY_COLUMNS = [
    "model",
    "depth",
    "length",
    "alphabet",
    "critical_width",
    "capped",
    "cap",
    "seed_median",
    "seed_low",
    "seed_high",
    "seeds",
    "seeds_capped",
    "widths_trained",
    "max_steps",
]


def summarize(table: pd.DataFrame, protocol: Protocol | None = None, cap=None) -> pd.DataFrame:
    """One row per (family, N): the critical width or its lower bound, and the interval over
    seeds (definitions in the module docstring). ``cap`` (a width, or {family: width}) marks a
    cell whose search reached the cap; by default the largest trained width of the cell."""
    protocol = protocol or Protocol()
    if table is None or table.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    cell_rows = cells(table, protocol)
    per_run = runs(table, protocol)
    # each run's test interval's lower end, by (model, depth, length, width, lr, seed): the first
    # row of a run, as a filter of per_run would find it (one dict lookup, not a filter a seed)
    keys = ["model", "depth", "length", "width", "lr", "seed"]
    test_low: dict[tuple, float] = {}
    for *key, low in per_run[[*keys, "test_low"]].itertuples(index=False):
        test_low.setdefault(tuple(key), low)
    seeds_of = per_run.groupby(["model", "depth", "length"])["seed"].unique()
    out = []
    for (model, depth, length), part in cell_rows.groupby(["model", "depth", "length"]):
        part = part.sort_values("width")
        widths = [int(w) for w in part["width"]]
        solved = part[part["status"] == SOLVED]
        capped = solved.empty
        critical = int(solved["width"].min()) if not capped else widths[-1]
        seed_widths: dict[int, int] = {}
        seeds_capped = 0
        seeds = seeds_of.get((model, depth, length), [])
        for seed in sorted(seeds):
            found = None
            for row in part.itertuples():
                low = test_low.get((model, depth, length, row.width, row.best_lr, seed))
                if low is not None and float(low) >= float(row.threshold):
                    found = int(row.width)
                    break
            if found is None:
                found = widths[-1]
                seeds_capped += 1
            seed_widths[int(seed)] = found
        values = pd.Series(list(seed_widths.values()), dtype=float)
        chance = float(table.loc[table["model"] == model, "chance"].iloc[0])
        cap_value = cap.get(model) if isinstance(cap, dict) else cap
        out.append(
            {
                "model": model,
                "depth": int(depth),
                "length": int(length),
                "alphabet": round(1 / chance) if chance > 0 else 0,
                "critical_width": critical,
                "capped": bool(capped),
                "cap": int(cap_value) if cap_value is not None else widths[-1],
                "seed_median": float(values.median()),
                "seed_low": float(values.min()),
                "seed_high": float(values.max()),
                "seeds": len(seed_widths),
                "seeds_capped": seeds_capped,
                "widths_trained": widths,
                "max_steps": int(part["max_steps"].max()),
            }
        )
    return (
        pd.DataFrame(out, columns=SUMMARY_COLUMNS)
        .sort_values(["model", "length"])
        .reset_index(drop=True)
    )


def points(summary: pd.DataFrame) -> dict[str, list[tuple[int, int, bool]]]:
    """Per family, its (N, critical width, capped) points: what the slope rule reads."""
    return {
        str(model): [
            (int(r.length), int(r.critical_width), bool(r.capped))
            for r in part.sort_values("length").itertuples()
        ]
        for model, part in summary.groupby("model")
    }


# -- command line ----------------------------------------------------------------------------


def aggregate(paths: list[str]) -> pa.Table:
    from .results import METRICS_SCHEMA, SchemaError, concat_checked

    if not paths:
        raise SchemaError("no critical-width job files to aggregate")
    return concat_checked(paths, METRICS_SCHEMA, "metrics")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["aggregate"]:
        from .results import aggregate_cli

        return aggregate_cli(
            aggregate, argv[1:], prog="python -m separations.critical_width aggregate", doc=None
        )
    if argv[:1] == ["run"]:
        argv = argv[1:]
    parser = argparse.ArgumentParser(
        prog="python -m separations.critical_width", description=__doc__
    )
    parser.add_argument("--spec", required=True, help="the job spec as JSON (from the Snakefile)")
    parser.add_argument("--validation", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--log")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if args.log:
        Path(args.log).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(args.log))
    logging.basicConfig(
        level=logging.INFO,
        handlers=handlers,
        force=True,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    try:
        spec = CriticalWidthSpec.from_json(args.spec)
    except ConfigError as e:
        log.error("error: %s", e)
        return 2
    from .runner import Interrupted

    try:
        run_job(
            spec, args.validation, args.test, args.out, threads=args.threads, device=args.device
        )
    except Interrupted as e:
        log.warning("%s; rerun the job to resume", e)
        return 128 + e.signum
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["TASK", "points", "run_job", "search", "study_jobs", "summarize", "width_spec"]
