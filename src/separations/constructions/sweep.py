"""The `constructions` sweep: Theorem 1 executed at many N, no training.

    python -m separations.constructions.sweep run --study orthogonality --length 1000 \\
        --config '<the constructions block as JSON>' --out results/constructions/runs/...parquet
    python -m separations.constructions.sweep aggregate --out results/constructions/metrics.parquet
        results/constructions/runs/*/*.parquet

One job is one study at one N (config.yaml ``constructions``; schema
src/separations/schemas/constructions.schema.json):

- ``orthogonality``: the smallest k at which N seeded ±1/√k vectors are γ-nearly orthogonal
  (:func:`.orthogonal.smallest_width`); one row per k the search tested.
- ``index_lookup``: Theorem 1's Transformer (:mod:`.theorem1`) at N symbols:
  (1) for each configured search (attention kind, η), the smallest k at which it is 100% accurate
  on the evaluation set in float64 (rows ``study = width``);
  (2) the width Lemma 2 asks for: the smallest k at which the construction's own N + 1 position
  vectors are 1/4-orthogonal, where the theorem guarantees 100% at the theorem's η
  (``study = lemma_width``);
  (3) at the smallest width of the first search, every precision × attention kind at the first
  search's η, and η swept for the listed precisions (``study = precision``).

Rows of every job share :data:`CONSTRUCTIONS_SCHEMA`, with the project's provenance columns.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..results import (
    ArgumentParser,
    SchemaError,
    aggregate_cli,
    concat_checked,
    provenance,
    read_checked,
    write_table,
)
from ..settings import ConfigError, config_hash
from . import precision_names as prec
from .schema import CONSTRUCTIONS_SCHEMA

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "schemas" / "constructions.schema.json"
STUDIES = ("orthogonality", "index_lookup")


#: the constructions block cannot be run; the message names the key (the project's one error type)
ConstructionsConfigError = ConfigError


def validate(block: dict[str, Any]) -> dict[str, Any]:
    """JSON-schema check plus precision names; returns the block."""
    import jsonschema

    schema = json.loads(SCHEMA_FILE.read_text())
    errors = sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(block), key=lambda e: list(e.path)
    )
    if errors:
        e = errors[0]
        key = ".".join(str(p) for p in e.absolute_path)
        raise ConstructionsConfigError(f"config key constructions.{key}: {e.message}")
    grid = block["index_lookup"]["precision"]
    for where in ("precisions", "eta_precisions"):
        for i, name in enumerate(grid[where]):
            try:
                prec.check(name)
            except prec.PrecisionError as e:
                raise ConstructionsConfigError(
                    f"config key constructions.index_lookup.precision.{where}.{i}: {e}"
                ) from None
    return block


def jobs(block: dict[str, Any]) -> list[str]:
    """Output paths (below results/constructions/runs/) of every job: <study>/N<length>."""
    return [f"{study}/N{n}" for study in STUDIES for n in sorted(set(block[study]["lengths"]))]


# -- the studies ---------------------------------------------------------------------------------


class Rows:
    """Collects rows with the shared columns filled in."""

    def __init__(self, block: dict[str, Any], length: int) -> None:
        self.common = {
            "length": length,
            "seed": block["seed"],
            "alphabet": block["alphabet"],
            **provenance(config_hash(block, keys=None), "cpu"),
        }
        self.rows: list[dict[str, Any]] = []

    def add(self, **row: Any) -> None:
        self.rows.append({**self.common, **row})

    def table(self) -> pa.Table:
        names = CONSTRUCTIONS_SCHEMA.names
        return pa.Table.from_pylist(
            [{n: r.get(n) for n in names} for r in self.rows], schema=CONSTRUCTIONS_SCHEMA
        )


def run_orthogonality(block: dict[str, Any], length: int) -> pa.Table:
    from . import orthogonal  # torch: only when a study runs

    study = block["orthogonality"]
    rows = Rows(block, length)
    gamma = block["gamma"]
    found: dict[int, tuple[orthogonal.OrthogonalityCheck, float]] = {}

    def passes(k: int) -> bool:
        cpu = time.process_time()
        check = orthogonal.check_orthogonality(
            orthogonal.signs(length, k, block["seed"]), gamma, block=study["block"]
        )
        found[k] = (check, time.process_time() - cpu)
        return check.passed

    best, tested = orthogonal.search_width(passes, study["max_width"])
    for k in tested:
        check, cpu = found[k]
        rows.add(
            study="orthogonality",
            search="doubling+bisection",
            k=k,
            vectors=length,
            gamma=gamma,
            passed=check.passed,
            selected=k == best,
            max_offdiag=check.max_offdiag,
            pairs_checked=check.pairs_checked,
            cpu_time=cpu,
            wall_time=check.seconds,
        )
    return rows.table()


def eta_value(rule: str | float, length: int) -> tuple[float, str]:
    from . import theorem1  # torch: only when a study runs

    if rule == "theorem":
        return theorem1.theorem_eta(length), "theorem"
    return float(rule), "fixed"


def run_index_lookup(block: dict[str, Any], length: int) -> pa.Table:
    from . import orthogonal, theorem1  # torch: only when a study runs

    cfg = block["index_lookup"]
    rows = Rows(block, length)
    data = theorem1.eval_set(
        length, cfg["examples"], alphabet=block["alphabet"], seed=block["seed"]
    )
    position_seed = orthogonal.derived_seed("positions", block["seed"])

    def build(k: int, attention: str, eta: float) -> theorem1.Construction:
        return theorem1.build(
            length,
            k,
            eta,
            alphabet=block["alphabet"],
            attention=attention,
            mlp_gain=cfg["mlp_gain"],
            seed=block["seed"],
        )

    offdiag: dict[int, float] = {}  # k -> largest ⟨T(i), T(j)⟩ of the construction's vectors

    def record(study, search, construction, eta_rule, precision, result, cpu, selected=False):
        k = construction.layout.k
        if k not in offdiag:
            signs = orthogonal.signs(length + 1, k, position_seed)
            offdiag[k] = orthogonal.max_offdiag(signs, block=block["orthogonality"]["block"])
        rows.add(
            study=study,
            search=search,
            k=construction.layout.k,
            width=construction.width,
            vectors=length + 1,
            attention=construction.attention,
            eta=construction.eta,
            eta_rule=eta_rule,
            precision=precision,
            significant_bits=prec.significant_bits(precision),
            mlp_gain=cfg["mlp_gain"],
            examples=result.examples,
            correct=result.correct,
            accuracy=result.accuracy,
            overflow=result.overflow,
            passed=result.correct == result.examples,
            selected=selected,
            max_offdiag=offdiag[k],
            cpu_time=cpu,
            wall_time=result.seconds,
        )

    def timed(construction, precision):
        cpu = time.process_time()
        result = theorem1.evaluate(construction, data, precision)
        return result, time.process_time() - cpu

    # (1) smallest width with 100% accuracy, per search
    smallest: dict[str, int | None] = {}
    for search in cfg["searches"]:
        if length > search.get("max_length", math.inf):
            continue
        name = f"{search['attention']}/{search['eta']}"
        eta, eta_rule = eta_value(search["eta"], length)
        evaluated = {}

        def passes(k: int, search=search, eta=eta, evaluated=evaluated) -> bool:
            construction = build(k, search["attention"], eta)
            result, cpu = timed(construction, "float64")
            evaluated[k] = (construction, result, cpu)
            return result.correct == result.examples

        best, tested = orthogonal.search_width(passes, search.get("max_width", cfg["max_width"]))
        smallest[name] = best
        for k in tested:
            construction, result, cpu = evaluated[k]
            record("width", name, construction, eta_rule, "float64", result, cpu, k == best)

    # (2) Lemma 2's width for the construction's own vectors, and the theorem's η there
    if length <= cfg["lemma_max_length"]:
        lemma = orthogonal.smallest_width(
            length + 1,
            block["gamma"],
            seed=position_seed,
            max_k=block["orthogonality"]["max_width"],
        )
        if lemma.k is not None:
            for attention in cfg["precision"]["attention"]:
                construction = build(lemma.k, attention, theorem1.theorem_eta(length))
                result, cpu = timed(construction, "float64")
                record("lemma_width", "lemma2", construction, "theorem", "float64", result, cpu)

    # (3) precision and η at the first search's smallest width
    grid = cfg["precision"]
    first = cfg["searches"][0]
    k = smallest.get(f"{first['attention']}/{first['eta']}")
    if k is not None and length <= grid["max_length"]:
        eta, eta_rule = eta_value(first["eta"], length)
        for attention in grid["attention"]:
            construction = build(k, attention, eta)
            for precision in grid["precisions"]:
                result, cpu = timed(construction, precision)
                record("precision", "precision", construction, eta_rule, precision, result, cpu)
        for value in grid["eta"]:
            construction = build(k, first["attention"], float(value))
            for precision in grid["eta_precisions"]:
                result, cpu = timed(construction, precision)
                record("precision", "eta", construction, "fixed", precision, result, cpu)
    return rows.table()


RUNNERS = {"orthogonality": run_orthogonality, "index_lookup": run_index_lookup}


def run(block: dict[str, Any], study: str, length: int) -> pa.Table:
    validate(block)
    if study not in RUNNERS:
        raise ConstructionsConfigError(
            f"unknown study {study!r}; allowed: {', '.join(sorted(RUNNERS))}"
        )
    if length not in block[study]["lengths"]:
        raise ConstructionsConfigError(
            f"N={length} is not in constructions.{study}.lengths {block[study]['lengths']}"
        )
    return RUNNERS[study](block, length)


# -- files ---------------------------------------------------------------------------------------


def read(path: str | Path) -> pa.Table:
    """Read a constructions table, refusing one whose schema is not the declared one."""
    return read_checked(path, CONSTRUCTIONS_SCHEMA, "constructions")


def aggregate(paths: list[str]) -> pa.Table:
    """The job tables (one per study and N) as one (:func:`results.concat_checked`); a file given
    twice or a job in two files is refused."""
    return concat_checked(
        paths,
        CONSTRUCTIONS_SCHEMA,
        "constructions",
        keys=["study", "length"],
        order=[("study", "ascending"), ("search", "ascending"), ("length", "ascending")],
    )


def main(argv: list[str] | None = None) -> int:
    prog = "python -m separations.constructions.sweep"
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["aggregate"]:  # the command line every aggregation step has
        return aggregate_cli(aggregate, argv[1:], prog=f"{prog} aggregate", doc=aggregate.__doc__)
    parser = ArgumentParser(prog=prog, description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("run", help="one study at one N")
    one.add_argument("--study", required=True, choices=STUDIES)
    one.add_argument("--length", required=True, type=int)
    one.add_argument("--config", required=True, help="the constructions block, as JSON")
    one.add_argument("--out", required=True)
    # parsed above, by results.aggregate_cli; listed here for --help
    sub.add_parser("aggregate", help="--out FILE PATH...: job tables as the results table")
    args = parser.parse_args(argv)
    import torch  # here: validating the block at Snakemake's start-up needs no torch

    torch.set_num_threads(1)
    try:
        start = time.perf_counter()
        table = run(json.loads(args.config), args.study, args.length)
        print(
            f"{args.study} N={args.length}: {table.num_rows} rows in "
            f"{time.perf_counter() - start:.1f} s wall, "
            f"{time.process_time():.1f} s CPU"
        )
        write_table(table, args.out)
    except (ConstructionsConfigError, SchemaError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}: {table.num_rows} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
