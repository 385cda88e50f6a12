"""Load and check ``config.yaml`` and expand its sweeps into a job table.

One validation layer, run when Snakemake parses the workflow (``workflow/rules/config.smk``), so
that a bad configuration stops it before any job starts with one line naming the key (its full
path), the value given and what is allowed:

- :func:`read_yaml` reads a config file strictly: a syntax error names the file and line, a key
  given twice is refused; :func:`command_line_values` types values given with ``--config``.
- :func:`validate_schema`: the JSON schemas (``separations/schemas/``: config, and the istree,
  constructions and cluster blocks), with integers that are integers and numbers that are finite;
  every number has bounds there. The first error is turned into one line (:func:`describe`).
- :func:`check`: what needs the registries or more than one key: task names and parameters (their
  types, and the task's own checks, reported at the key that sets them), sweep names that are not
  folders of ``results/``, figure names with a script, settings that must agree
  (``stop_threshold`` >= ``threshold``, the cluster block), models and shapes of every sweep.

The error type, the config hash and the task-parameter checks live in :mod:`separations.settings`
(a low layer every command may import); they are importable from here too. This module sits above
the studies: it checks their blocks of config.yaml with their own code.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .families import FAMILIES, check_shape
from .settings import MAX_SEED as MAX_SEED
from .settings import MAX_TASK_INT as MAX_TASK_INT
from .settings import NUMERIC_KEYS as NUMERIC_KEYS
from .settings import ConfigError as ConfigError
from .settings import check_task_params, expand, key_path, shape_name
from .settings import config_hash as config_hash
from .settings import is_number as _number
from .settings import show as _show
from .settings import string_number_hint as _string_number_hint
from .specs import ClassifierSpec
from .tables import RESULT_SCHEMAS as RESULT_SCHEMAS
from .tasks import TASKS

if TYPE_CHECKING:
    import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = Path(__file__).resolve().parent / "schemas"  # package data (pyproject.toml)
SCHEMA = SCHEMAS / "config.schema.json"


#: folders under results/ that are not sweeps: a sweep of that name would read or overwrite them
RESERVED_SWEEP_NAMES = ("constructions", "data", "runs", "checkpoints", "istree")
#: the blocks of config.yaml with a schema of their own (checked when present and not null)
BLOCK_SCHEMAS = {
    "istree": "istree.schema.json",
    "constructions": "constructions.schema.json",
    "cluster": "cluster.schema.json",
}
FIGURE_SCRIPTS = Path(__file__).resolve().parent / "figures"
#: the length at which task parameters are checked when no sweep trains the task (the schema's
#: largest training length: a parameter wrong there is wrong at every length)
PROBE_LENGTH = 65536


# -- reading ---------------------------------------------------------------------------------


#: libyaml's parser where PyYAML has it (the same documents, read several times faster)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: str | Path) -> Any:
    """A YAML file read strictly: a syntax error names the file and line, and a key given twice in
    one mapping is refused (plain YAML, and so Snakemake, silently keeps the last)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read the config file ({e})") from None
    try:
        node = yaml.compose(text, Loader=_LOADER)
        if node is not None:
            _refuse_duplicates(node, path, [], set())
        return yaml.load(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join(str(e.problem or e.context or "invalid YAML").split())
        raise ConfigError(f"{path}{where}: not valid YAML: {problem}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {' '.join(str(e).split())}") from None


def _refuse_duplicates(node: yaml.Node, path: Path, where: list, seen: set[int]) -> None:
    if id(node) in seen:  # an alias of a node already walked
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
            if key_node.tag != "tag:yaml.org,2002:merge" and key != "?":
                line = key_node.start_mark.line + 1
                if key in lines:
                    raise ConfigError(
                        f"config key {key_path([*where, key])}: given twice in {path} (lines "
                        f"{lines[key]} and {line}); allowed: each key once (YAML would keep the "
                        "last one silently)"
                    )
                lines[key] = line
            _refuse_duplicates(value_node, path, [*where, key], seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _refuse_duplicates(item, path, [*where, i], seen)


def read_config(path: str | Path) -> dict[str, Any]:
    """A config file read strictly (:func:`read_yaml`); its top level must be a mapping."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping of config keys (sweep, tasks, training, "
            f"...), got {_show(data)}"
        )
    return data


def check_files(paths) -> None:
    """Read each config file strictly (:func:`read_config`); missing files are skipped (Snakemake
    reports them). Run before Snakemake reads them itself, which neither names the line of a
    syntax error nor notices a duplicated key."""
    for path in paths:
        if Path(path).exists():
            read_config(path)


def command_line_values(config: dict[str, Any], given: Mapping[str, Any]) -> None:
    """Type the values given with ``snakemake --config KEY=VALUE`` in ``config`` (in place).

    Snakemake reads a nested value such as ``training={max_steps: 5}`` with YAML's base loader,
    so every number inside it arrives as a string; each such string is read again as a YAML
    scalar here, as it would have been in config.yaml.
    """
    for key, value in given.items():
        if isinstance(value, Mapping) and isinstance(config.get(key), dict):
            command_line_values(config[key], value)
        elif key in config:
            config[key] = _typed(value)


def _typed(value: Any) -> Any:
    if isinstance(value, str):
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            return value
        return parsed if parsed is None or isinstance(parsed, str | int | float | bool) else value
    if isinstance(value, Mapping):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_typed(v) for v in value]
    return value


def load(path: str | Path = ROOT / "config.yaml") -> dict[str, Any]:
    """Read (strictly) and validate a config file."""
    config = read_config(path)
    validate(config)
    return config


def validate(config: dict[str, Any]) -> None:
    """Everything Snakemake checks at start-up: :func:`validate_schema`, then :func:`check`."""
    validate_schema(config)
    check(config)


# -- messages --------------------------------------------------------------------------------


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def _range(schema: dict[str, Any], integer: bool) -> str:
    lo, lo_open = schema.get("minimum"), False
    if "exclusiveMinimum" in schema:
        lo, lo_open = schema["exclusiveMinimum"], True
    hi, hi_open = schema.get("maximum"), False
    if "exclusiveMaximum" in schema:
        hi, hi_open = schema["exclusiveMaximum"], True
    if integer:  # integers: closed ranges
        if lo is not None and lo_open:
            lo, lo_open = math.floor(lo) + 1, False
        if hi is not None and hi_open:
            hi, hi_open = math.ceil(hi) - 1, False
        if lo is not None and hi is not None:
            return f" {_fmt(lo)}..{_fmt(hi)}"
    if lo is not None and hi is not None:
        return f" in {'(' if lo_open else '['}{_fmt(lo)}, {_fmt(hi)}{')' if hi_open else ']'}"
    if lo is not None:
        return f" {'>' if lo_open else '>='} {_fmt(lo)}"
    if hi is not None:
        return f" {'<' if hi_open else '<='} {_fmt(hi)}"
    return ""


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """The schema with its ``$ref`` and ``allOf`` merged in (enough for this project's schemas)."""
    schema = dict(schema)
    ref = schema.pop("$ref", None)
    if ref is not None:
        target: Any = root
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        schema = {**_resolve(target, root), **schema}
    for part in schema.pop("allOf", []):
        schema = {**_resolve(part, root), **schema}
    return schema


def describe(schema: dict[str, Any], root: dict[str, Any]) -> str:
    """What a schema allows, in words: ``an integer 1..10000000``, ``a finite number in (0, 1]``."""
    schema = _resolve(schema, root)
    for combination in ("oneOf", "anyOf"):
        if combination in schema:
            return " or ".join(describe(part, root) for part in schema[combination])
    if "const" in schema:
        return _show(schema["const"])
    if "enum" in schema:
        return "one of " + ", ".join(str(v) for v in schema["enum"])
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    if not types and "pattern" in schema:
        types = ["string"]
    words = []
    for kind in types:
        if kind == "null":
            words.append("null")
        elif kind == "integer":
            words.append("an integer" + _range(schema, True))
        elif kind == "number":
            words.append("a finite number" + _range(schema, False))
        elif kind == "boolean":
            words.append("true or false")
        elif kind == "string":
            pattern = schema.get("pattern")
            words.append("a string" + (f" matching {pattern}" if pattern else ""))
        elif kind == "array":
            items = schema.get("items")
            least = schema.get("minItems", 0)
            text = "a non-empty list" if least == 1 else "a list"
            if least > 1:
                text += f" of at least {least} items"
            words.append(text + (f", each {describe(items, root)}" if items else ""))
        elif kind == "object":
            props = list(_resolve(schema, root).get("properties", {}))
            extra = schema.get("additionalProperties")
            text = "a mapping"
            if props:
                text += " with keys " + ", ".join(props)
            elif isinstance(extra, dict):
                text += f" of names to {describe(extra, root)}"
            words.append(text)
    text = " or ".join(words)
    if "not" in schema:
        text = (text + ", " if text else "") + "not " + describe(schema["not"], root)
    return text or str(schema.get("description", "see the schema"))


def _chosen(error):
    """The error a message is about: best_match may pick one alternative's complaint about a
    value that fails every alternative; then the alternatives as a whole (oneOf/anyOf) are
    described, unless only one alternative has the value's type: then that alternative's error."""
    import jsonschema

    while (
        error.parent is not None
        and error.parent.validator in ("oneOf", "anyOf")
        and list(error.parent.absolute_path) == list(error.absolute_path)
    ):
        error = error.parent
    while error.validator in ("oneOf", "anyOf") and error.context:
        typed = [
            e
            for e in error.context
            if e.path
            or "propertyNames" in e.relative_schema_path
            or e.validator not in ("type", "const", "enum")
        ]
        if len({e.relative_schema_path[0] for e in typed}) != 1:
            break
        error = jsonschema.exceptions.best_match(typed, key=_relevance)
    return error


def _schema_message(error, root: dict[str, Any], prefix: list) -> str:
    """One line for a jsonschema error: the key path, the value given, what is allowed."""
    error = _chosen(error)
    path = [*prefix, *error.absolute_path]
    if "propertyNames" in error.absolute_schema_path:
        name = error.instance
        return (
            f"config key {key_path([*path, name])}: the name {name!r} is not allowed; "
            f"allowed: {describe(error.schema, root).replace('a string', 'a name')}"
        )
    if error.validator == "additionalProperties" and error.validator_value is False:
        known = _resolve(error.schema, root).get("properties", {})
        extra = [k for k in error.instance if k not in known]
        return (
            f"config key {key_path([*path, extra[0]])}: unknown key; "
            f"allowed: {', '.join(known) or 'none'}"
        )
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        sub = _resolve(error.schema, root).get("properties", {}).get(missing[0])
        what = describe(sub, root) if sub else "a value"
        return f"config key {key_path([*path, missing[0]])}: missing; allowed: {what} (required)"
    value = error.instance
    hint = ""
    if error.validator in ("type", "oneOf", "anyOf"):
        types = _resolve(error.schema, root).get("type", [])
        types = [types] if isinstance(types, str) else types
        hint = _string_number_hint(value, integer="integer" in types and "number" not in types)
    allowed = describe(error.schema, root)
    return f"config key {key_path(path)}: got {_show(value)}; allowed: {allowed}{hint}"


@functools.cache
def _validator(name: str):
    """A JSON-schema validator of ``separations/schemas/<name>`` in which an integer is an integer
    (not ``16.0``, not ``true``) and a number is finite (not NaN or infinity)."""
    import jsonschema

    base = jsonschema.Draft202012Validator
    types = base.TYPE_CHECKER.redefine_many(
        {
            "integer": lambda _, x: isinstance(x, int) and not isinstance(x, bool),
            "number": lambda _, x: _number(x),
        }
    )
    cls = jsonschema.validators.extend(base, type_checker=types)
    return cls(json.loads((SCHEMAS / name).read_text()))


def _relevance(error) -> tuple:
    # shallower errors first (they say more is wrong), alternatives last; schema order otherwise
    return (-len(error.path), error.validator not in ("anyOf", "oneOf"))


def _schema_check(instance: Any, name: str, prefix: list) -> None:
    import jsonschema

    validator = _validator(name)
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance), key=_relevance)
    if error is not None:
        raise ConfigError(_schema_message(error, validator.schema, prefix))


def _refuse_non_finite(node: Any, where: list) -> None:
    if isinstance(node, float) and not math.isfinite(node):
        raise ConfigError(
            f"config key {key_path(where)}: got {_show(node)}; allowed: a finite number"
        )
    if isinstance(node, dict):
        for key, value in node.items():
            _refuse_non_finite(value, [*where, key])
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _refuse_non_finite(value, [*where, i])


def validate_schema(config: dict[str, Any]) -> None:
    """The JSON schemas: ``config.schema.json``, then the istree, constructions and cluster
    blocks' own; integers must be integers and numbers finite. The first error, as one line."""
    if not isinstance(config, dict):
        raise ConfigError(
            f"config: the top level must be a mapping of config keys, got {_show(config)}"
        )
    _schema_check(config, SCHEMA.name, [])
    for block, name in BLOCK_SCHEMAS.items():
        if config.get(block) is not None:
            _schema_check(config[block], name, [block])
    _refuse_non_finite(config, [])


# -- checks that need the registries ---------------------------------------------------------


def _param_origin(config: dict[str, Any], sweep: str | None, task: str, name: str) -> str | None:
    """The config key that sets task parameter ``name`` in ``sweep`` (None: the default)."""
    if sweep is not None:
        override = ((config["sweeps"][sweep].get("tasks") or {}).get(task)) or {}
        if name in override:
            return f"sweeps.{sweep}.tasks.{task}.{name}"
    if name in (config["tasks"].get(task) or {}):
        return f"tasks.{task}.{name}"
    return None


def _task_problems(
    config: dict[str, Any], sweep: str | None, task: str, length: int, where: str | None
) -> None:
    """The task's own checks at one length. A problem with a parameter is reported at the key
    that sets it; a problem with the length at ``where`` (None: only parameter problems)."""
    params = (
        task_params(config, sweep, task) if sweep is not None else config["tasks"].get(task) or {}
    )
    cls = TASKS[task]
    try:
        problems = cls.check(length, {**cls.defaults, **params})
    except (TypeError, ValueError, KeyError) as e:  # a parameter the task's check cannot read
        problems = [f"cannot check the parameters ({type(e).__name__}: {e})"]
    for problem in problems:
        name = problem.split()[0] if problem else ""
        origin = _param_origin(config, sweep, task, name) if name in cls.defaults else None
        match = re.fullmatch(r"\w+ must be (.+), got (.+)", problem)
        text = f"got {match.group(2)}; allowed: {match.group(1)}" if match else problem
        if origin is not None:
            raise ConfigError(f"config key {origin}: {text} (task {task})")
        if where is not None:
            raise ConfigError(f"config key {where}: task {task} at N={length}: {problem}")


def _defaults(schema_name: str, block: dict[str, Any]) -> dict[str, Any]:
    """``block`` with the schema's defaults filled in (as Snakemake's validate does)."""
    schema = json.loads((SCHEMAS / schema_name).read_text())

    def fill(node: dict[str, Any], sub: dict[str, Any]) -> dict[str, Any]:
        out = dict(node)
        for key, prop in sub.get("properties", {}).items():
            if key not in out and "default" in prop:
                out[key] = copy.deepcopy(prop["default"])
            if isinstance(out.get(key), dict) and prop.get("type") == "object":
                out[key] = fill(out[key], prop)
        return out

    return fill(block, schema)


def _check_cluster(config: dict[str, Any]) -> None:
    cluster = _defaults(BLOCK_SCHEMAS["cluster"], config.get("cluster") or {})
    runtime = cluster["runtime"]
    if cluster["gpu_model"] and not cluster["gpus"]:
        raise ConfigError(
            f"config key cluster.gpu_model: got {_show(cluster['gpu_model'])} with cluster.gpus "
            "= 0; allowed: null, or set cluster.gpus >= 1 to ask for GPUs"
        )
    if runtime["min_minutes"] > runtime["max_minutes"]:
        raise ConfigError(
            f"config key cluster.runtime.min_minutes: got {runtime['min_minutes']}, min_minutes "
            f"is above max_minutes ({runtime['max_minutes']}); allowed: at most max_minutes"
        )
    if 2 * cluster["signal_seconds"] > 60 * runtime["min_minutes"]:
        raise ConfigError(
            f"config key cluster.signal_seconds: got {cluster['signal_seconds']}, more than half "
            f"of the shortest job (cluster.runtime.min_minutes = {runtime['min_minutes']}); "
            f"allowed: 0..{30 * runtime['min_minutes']}"
        )


def _setter(config: dict[str, Any], sweep: str, b: int, name: str) -> str:
    """The config key that sets run setting ``name`` for grid block ``b`` of ``sweep``."""
    body = config["sweeps"][sweep]
    if name in (body["grid"][b].get("training") or {}):
        return f"sweeps.{sweep}.grid[{b}].training.{name}"
    if name in (body.get("training") or {}):
        return f"sweeps.{sweep}.training.{name}"
    return f"training.{name}"


def _check_run_settings(config: dict[str, Any]) -> None:
    """Settings that must agree with each other, in the merged settings of every grid block."""
    for sweep, body in config["sweeps"].items():
        for b, block in enumerate(body["grid"]):
            settings = {
                **config["training"],
                **(body.get("training") or {}),
                **(block.get("training") or {}),
            }
            if settings["stop_threshold"] < settings["threshold"]:
                key = _setter(config, sweep, b, "stop_threshold")
                raise ConfigError(
                    f"config key {key}: got {_show(settings['stop_threshold'])}, below threshold "
                    f"{_show(settings['threshold'])} ({_setter(config, sweep, b, 'threshold')}); "
                    "allowed: a number in [threshold, 1] (a run may not stop before it is solved)"
                )


def _check_eval_sets(sweep: str, specs: dict[str, ClassifierSpec]) -> None:
    """Jobs of one (task, N) share one evaluation set: they must agree on how it is drawn."""
    drawn: dict[tuple[str, int], tuple] = {}
    for spec in specs.values():
        key = (spec.task, spec.length)
        how = (spec.eval_size, spec.test_size, spec.data_seed, spec.task_params)
        if drawn.setdefault(key, how) != how:
            raise ConfigError(
                f"config key sweeps.{sweep}: jobs of task {key[0]} at N={key[1]} disagree on "
                "eval_size, test_size, data_seed or task parameters; allowed: one value per "
                "sweep (they share one evaluation set)"
            )


@functools.lru_cache(maxsize=32)
def _check_sweep_cached(payload: str, sweep: str) -> None:
    config = json.loads(payload)
    _check_eval_sets(sweep, job_specs(config, sweep))


def check(config: dict[str, Any]) -> None:
    """Checks that need the registries or more than one key. Raises ConfigError naming the first
    bad key: task names and parameters (their types, and the task's own checks at every length a
    sweep trains), sweep and figure names, settings that must agree, models and shapes."""
    for task, params in config["tasks"].items():
        check_task_params(task, params, f"tasks.{task}")
        _task_problems(config, None, task, PROBE_LENGTH, None)
    for sweep, body in config["sweeps"].items():
        if sweep in RESERVED_SWEEP_NAMES:
            raise ConfigError(
                f"config key sweeps.{sweep}: the name {sweep!r} is a folder of results/; "
                f"allowed: any other name (not {', '.join(RESERVED_SWEEP_NAMES)})"
            )
        for task, params in (body.get("tasks") or {}).items():
            check_task_params(task, params, f"sweeps.{sweep}.tasks.{task}")
            _task_problems(config, sweep, task, PROBE_LENGTH, None)
    if config["sweep"] not in config["sweeps"]:
        raise ConfigError(
            f"config key sweep: no sweep named {config['sweep']!r}; "
            f"allowed: {', '.join(sorted(config['sweeps']))}"
        )
    scripts = sorted(
        p.stem for p in FIGURE_SCRIPTS.glob("*.py") if p.stem not in ("__init__", "common")
    )
    for figure, names in config["figures"].items():
        if figure not in scripts:
            raise ConfigError(
                f"config key figures.{figure}: no script src/separations/figures/{figure}.py; "
                f"allowed: {', '.join(scripts)}"
            )
        unknown = sorted(set(names) - set(config["results"]))
        if unknown:
            raise ConfigError(
                f"config key figures.{figure}: unknown result table(s) {unknown}; "
                f"allowed: {', '.join(sorted(config['results']))}"
            )
    _check_run_settings(config)
    _check_cluster(config)
    for sweep, body in config["sweeps"].items():
        # a sweep's jobs depend on these keys only: an unchanged sweep is not expanded again
        payload = json.dumps(
            {"tasks": config["tasks"], "training": config["training"], "sweeps": {sweep: body}},
            sort_keys=True,
        )
        _check_sweep_cached(payload, sweep)
    if config.get("istree") is not None:
        from .istree import sweeps as istree_sweeps

        istree_sweeps.check(config["istree"])
    _check_critical_width(config)
    _check_flop_formulas(config)
    if config.get("constructions") is not None:
        from .constructions import sweep as constructions_sweep

        constructions_sweep.validate(config["constructions"])


def _check_flop_formulas(config: dict[str, Any]) -> None:
    """Every family of the ``paper`` grids (paper 1's and IsTree's) has a FLOP formula in the cost
    model (:data:`separations.flops.FORMULAS`): the report estimates that grid's GPU-hours, so a
    family without one is refused here, not when the tables are built after training."""
    from .families import LM_FAMILIES
    from .flops import COSTED_SWEEP, FORMULAS

    def refuse(where: str, family: str, formula: str) -> None:
        raise ConfigError(
            f"config key {where}: the cost model has no FLOP formula {formula!r} for family "
            f"{family!r} (the report estimates the {COSTED_SWEEP} grid's GPU-hours with it); "
            f"add one to FORMULAS in src/separations/flops.py; formulas: {', '.join(FORMULAS)}"
        )

    body = config["sweeps"].get(COSTED_SWEEP) or {}
    for b, block in enumerate(body.get("grid") or []):
        for model in block["model"]:
            if model not in FORMULAS:
                refuse(f"sweeps.{COSTED_SWEEP}.grid[{b}].model", model, model)
    istree = ((config.get("istree") or {}).get("sweeps") or {}).get(COSTED_SWEEP) or {}
    for b, block in enumerate(istree.get("grid") or []):
        for family in block["family"]:
            formula = LM_FAMILIES[family].flops  # a registered family: istree.sweeps checked it
            if formula not in FORMULAS:
                refuse(f"istree.sweeps.{COSTED_SWEEP}.grid[{b}].family", family, formula)


def _check_critical_width(config: dict[str, Any]) -> None:
    """The critical-width studies (``critical_width.<sweep>``): the study is named after a sweep
    (its outputs live under results/<sweep>/critical_width/), its families are registered and
    every (family, width) shape can be built, widths increase, the task parameters are Index
    Lookup's, and stop_threshold >= threshold."""
    studies = config.get("critical_width") or {}
    for study, block in studies.items():
        where = f"critical_width.{study}"
        if study not in config["sweeps"]:
            raise ConfigError(
                f"config key {where}: no sweep named {study!r} (a study writes under "
                f"results/<sweep>/critical_width/); allowed: {', '.join(sorted(config['sweeps']))}"
            )
        check_task_params("idxl", block.get("task"), f"{where}.task")
        params = {**(config["tasks"].get("idxl") or {}), **(block.get("task") or {})}
        for length in block["lengths"]:
            try:
                TASKS["idxl"](length, **params)
            except (TypeError, ValueError) as e:
                raise ConfigError(f"config key {where}.lengths: N={length}: {e}") from None
        widths = list(block["widths"])
        if any(b <= a for a, b in itertools.pairwise(widths)):
            raise ConfigError(
                f"config key {where}.widths: got {_show(widths)}; allowed: increasing widths "
                "(a doubling grid, its last value the cap)"
            )
        for family, shape in block["families"].items():
            if family not in FAMILIES:
                raise ConfigError(
                    f"config key {where}.families.{family}: unknown model {family!r}; "
                    f"allowed: {', '.join(sorted(FAMILIES))}"
                )
            heads = shape.get("heads") if FAMILIES[family].uses_heads else None
            for width in widths:
                problems = check_shape(family, shape["depth"], width, heads)
                if problems:
                    raise ConfigError(
                        f"config key {where}.families.{family}: at width {width}: "
                        + "; ".join(problems)
                    )
        training = {**config["training"], **(block.get("training") or {})}
        if training["stop_threshold"] < training["threshold"]:
            raise ConfigError(
                f"config key {where}.training.stop_threshold: got {training['stop_threshold']}; "
                f"allowed: at least threshold ({training['threshold']})"
            )


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
        check_task_params(task, config["tasks"].get(task), f"tasks.{task}")
        override = (config["sweeps"][sweep].get("tasks") or {}).get(task)
        check_task_params(task, override, f"sweeps.{sweep}.tasks.{task}")
        for length in block["length"]:
            _task_problems(config, sweep, task, length, f"{where}.length")
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
                # the key the first problem is about: "width 64 is not divisible by heads 3" is
                # about heads, "depth must be in 1..3" about depth
                detail = problems[0].split(": ", 1)[-1]
                field = next((f for f in ("heads", "depth", "width") if f in detail), None)
                key = f"{where}.{field}" if field else where
                raise ConfigError(f"config key {key}: " + "; ".join(problems))


def job_id(task: str, model: str, depth: int, width: int, heads: int | None, length: int) -> str:
    """The job's path below ``results/<sweep>/runs/``: task/model/shape/N<length>."""
    return f"{task}/{model}/{shape_name(depth, width, heads)}/N{length}"


#: the axes of a paper-1 grid block, in the order of the job table (heads innermost)
AXES = ("task", "model", "depth", "width", "length", "heads")


def job_specs(config: dict[str, Any], sweep: str) -> dict[str, ClassifierSpec]:
    """Every training job of ``sweep`` by job id: a (task, model, depth, width, heads, N) cell.

    Grid blocks are Cartesian products (:func:`separations.settings.expand`); the sweep is their
    union. A cell listed twice with different run settings is an error. Families without heads
    drop the heads axis.
    """
    if sweep not in config["sweeps"]:
        raise ConfigError(
            f"no sweep named {sweep!r}; allowed: {', '.join(sorted(config['sweeps']))}"
        )
    body = config["sweeps"][sweep]
    blocks = []
    for b, block in enumerate(body["grid"]):
        where = f"sweeps.{sweep}.grid[{b}]"
        _check_block(config, sweep, where, block)
        blocks.append((where, {"heads": [None], **block}))

    def cells(cell: dict[str, Any], settings: dict[str, Any], where: str):
        if not FAMILIES[cell["model"]].uses_heads:
            cell["heads"] = None
        spec = {
            "sweep": sweep,
            "job": job_id(**cell),
            "task": cell["task"],
            "task_params": task_params(config, sweep, cell["task"]),
            "model": cell["model"],
            "depth": cell["depth"],
            "width": cell["width"],
            "heads": cell["heads"],
            "length": cell["length"],
            **settings,
        }
        spec["learning_rates"] = [float(x) for x in spec["learning_rates"]]
        yield spec["job"], spec

    return expand(
        blocks,
        {**config["training"], **(body.get("training") or {})},
        AXES,
        cells,
        lambda spec, where: ClassifierSpec.from_config(spec),
        keys=NUMERIC_KEYS,
    )


def jobs(config: dict[str, Any], sweep: str) -> pd.DataFrame:
    """The sweep as a table, one row per job, indexed by job id."""
    import pandas as pd  # here: the data and training commands import this module, not pandas

    rows = [spec.to_dict() for spec in job_specs(config, sweep).values()]
    return pd.DataFrame(rows).set_index("job", drop=False)
