"""Typed job specs: what one training job of each study is, field by field.

The package's one job-table expander, :func:`separations.settings.expand`, makes these of each
study's grid (:func:`separations.config.job_specs` for paper 1,
:func:`separations.istree.sweeps.job_specs` for paper 2,
:func:`separations.critical_width.study_jobs` for the critical-width study); the
Snakefile passes one to its trainer as ``--spec <JSON>`` (:meth:`JobSpec.to_json`), and the
trainer reads it back with :meth:`JobSpec.from_json`, which refuses a missing or unknown field
by name before any work starts. So a reader (or a type checker) can follow a value from
config.yaml to a run: ``spec.length`` is paper 1's N, ``spec.n`` paper 2's number of nodes.

The fields are exactly the keys of the job's JSON, and the config hash is computed from the same
values (:func:`separations.settings.config_hash`), so hashes and committed tables are unchanged by
the typing. Sequences are tuples (a spec is immutable); :meth:`JobSpec.to_dict` gives lists back.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError


class _Json:
    """The ``--spec`` form of a spec: JSON of :meth:`to_dict`, read back by :meth:`from_dict`."""

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)  # type: ignore[attr-defined]

    @classmethod
    def from_json(cls, text: str, *, where: str = "--spec"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{where}: not JSON ({e})") from None
        return cls.from_dict(data, where=where)  # type: ignore[attr-defined]


@dataclass(frozen=True, kw_only=True)
class JobSpec(_Json):
    """What every trained job has: its place in a sweep, its runs and its protocol."""

    #: the sweep (or critical-width study) and the job's id in it: its folder below ``runs/``
    sweep: str
    job: str
    #: the task's registry name (``separations.tasks.TASKS``)
    task: str
    #: every (learning rate, seed) pair is one run of the job
    learning_rates: tuple[float, ...]
    seeds: tuple[int, ...]
    #: training examples a step (a fresh batch each step) and the cap on steps
    batch_size: int
    max_steps: int
    #: steps between evaluations on the validation set, and between checkpoints
    eval_every: int
    checkpoint_every: int
    #: the accuracy that counts as solved (paper 2 may leave it null: no early stop)
    threshold: float | None
    eval_size: int
    test_size: int
    eval_batch_size: int
    data_seed: int
    threads: int = 1
    #: successive halving over learning rates: ``{"rungs": [fractions of the cap], "keep": f}``
    pruning: Mapping[str, Any] | None = None
    config_hash: str = ""

    # -- the job's problem size and evaluation-set identity ---------------------------------
    @property
    def instance_size(self) -> int:
        """The job's problem size: N for paper 1 (``length``), the number of nodes for paper 2
        (``n``); each study's spec says which field it is."""
        raise NotImplementedError

    @property
    def size_symbol(self) -> str:
        """How messages write the problem size: ``N`` (paper 1's input length)."""
        return "N"

    @property
    def data_format(self) -> str | None:
        """The evaluation sets' format (paper 2's nocot/cot/retrieval; None for paper 1)."""
        return None

    # -- conversion ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The job as the JSON object the trainer receives (lists, not tuples)."""
        return {name: _plain(getattr(self, name)) for name in _layout(type(self))[0]}

    def replace(self, **changes: Any) -> JobSpec:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_config(cls, data: Mapping[str, Any]) -> JobSpec:
        """The spec of a job the config expanders built from schema-checked config values: lists
        made tuples, nothing checked again (a check costs ~30 µs a job, 0.15 s for the paper
        grid at every Snakemake start; :meth:`from_dict` checks what arrives from outside)."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "--spec") -> JobSpec:
        """The spec of ``data``; a missing or unknown field, or a value of the wrong kind, is a
        :class:`ConfigError` naming it (``where`` says whose data it is)."""
        if isinstance(data, cls):
            return data
        if isinstance(data, JobSpec):
            data = data.to_dict()
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: expected a {cls.__name__} (a JSON object), got {data!r}")
        hints, required = _layout(cls)
        unknown = sorted(set(data) - set(hints))
        if unknown:
            raise ConfigError(
                f"{where}: unknown field(s) {', '.join(unknown)} for a {cls.__name__}; "
                f"allowed: {', '.join(hints)}"
            )
        missing = [name for name in required if name not in data]
        if missing:
            raise ConfigError(f"{where}: {cls.__name__} lacks field(s) {', '.join(missing)}")
        values = {
            name: _coerce(value, hints[name], f"{where}.{name}") for name, value in data.items()
        }
        return cls(**values)


@dataclass(frozen=True, kw_only=True)
class ClassifierSpec(JobSpec):
    """Paper 1: one (task, model family, depth, width, heads, N) cell of a sweep."""

    #: the task's parameters (config.yaml ``tasks.<task>``, overlaid by the sweep's)
    task_params: Mapping[str, Any]
    #: the model family (``separations.families.FAMILIES``)
    model: str
    depth: int
    width: int
    #: attention heads (null for families without heads)
    heads: int | None
    #: the input length N: paper 1's problem size
    length: int
    #: the validation accuracy that stops a run (at least ``threshold``, which is what counts)
    stop_threshold: float

    @property
    def instance_size(self) -> int:
        return self.length


@dataclass(frozen=True, kw_only=True)
class IsTreeSpec(JobSpec):
    """Paper 2: one (format, family, size, n) cell of an IsTree sweep."""

    #: the graph distribution (config.yaml ``istree.task.graph``)
    graph: str
    #: the data format: ``nocot``, ``cot`` (chain of thought) or ``retrieval`` (CoT with search)
    format: str
    #: the language-model family (``separations.families.LM_FAMILIES``)
    family: str
    #: the named model size (config.yaml ``istree.sizes``) whose shape the next fields are
    size: str
    #: the number of nodes of each graph: paper 2's problem size
    n: int
    #: the longest sequence of the format at this n: the model's context length
    max_len: int
    width: int
    depth: int
    #: feed-forward width and heads (null for Mamba), state size (null for the Transformer)
    ffn: int | None
    heads: int | None
    d_state: int | None
    #: the positional embedding (``separations.families.LM_EMBEDDINGS``)
    embedding: str
    #: learning-rate warm-up, in training examples; cosine decay to 0 at ``max_steps`` after it
    warmup_samples: int
    #: greedy generation on the validation set every this many steps (0: at the last one only)
    generate_every: int

    @property
    def task_params(self) -> dict[str, Any]:
        """The IsTree task's parameters: its format and graph distribution."""
        return {"format": self.format, "graph": self.graph}

    @property
    def instance_size(self) -> int:
        return self.n

    @property
    def size_symbol(self) -> str:
        return "n"  # nodes

    @property
    def data_format(self) -> str | None:
        return self.format


def eval_set_params(spec: JobSpec | CriticalWidthSpec) -> dict[str, Any]:
    """How a job's validation and held-out test sets are drawn, for every study: ``count`` and
    ``seed`` of the validation set, ``test_count`` and ``test_seed`` (the next seed; drawn
    disjoint from validation) of the test set, and the task parameters as JSON: what the data
    rules pass to ``separations.data``."""
    return {
        "count": spec.eval_size,
        "seed": spec.data_seed,
        "test_count": spec.test_size,
        "test_seed": spec.data_seed + 1,
        "params": json.dumps(spec.task_params, sort_keys=True),
    }


def _training_int(name: str, default: int | None = None) -> property:
    """A critical-width spec's integer training setting ``name``, read as a property."""

    def read(spec: CriticalWidthSpec) -> int:
        return int(spec.training[name] if default is None else spec.training.get(name, default))

    return property(read, doc=f"the training setting {name}")


@dataclass(frozen=True, kw_only=True)
class CriticalWidthSpec(_Json):
    """The critical-width study: one (family, N) job that searches its widths, each width one
    :class:`ClassifierSpec` (:func:`separations.critical_width.width_spec`)."""

    study: str
    task: str
    task_params: Mapping[str, Any]
    model: str
    depth: int
    heads: int | None
    length: int
    widths: tuple[int, ...]
    confidence: float
    training: Mapping[str, Any]

    # the training settings the workflow reads of a job (its threads and evaluation sets)
    threads = _training_int("threads", default=1)
    eval_size = _training_int("eval_size")
    test_size = _training_int("test_size")
    data_seed = _training_int("data_seed")

    def to_dict(self) -> dict[str, Any]:
        out = {name: _plain(getattr(self, name)) for name in _layout(type(self))[0]}
        return {**{k: v for k, v in out.items() if k != "training"}, **out["training"]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "--spec") -> CriticalWidthSpec:
        if isinstance(data, cls):
            return data
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: expected a {cls.__name__} (a JSON object), got {data!r}")
        own = [f.name for f in dataclasses.fields(cls) if f.name != "training"]
        missing = [name for name in own if name not in data]
        if missing:
            raise ConfigError(f"{where}: {cls.__name__} lacks field(s) {', '.join(missing)}")
        training = {k: v for k, v in data.items() if k not in own}
        # the training settings must make a ClassifierSpec once the width is set
        probe = {"sweep": "", "job": "", "width": 1, **{k: data[k] for k in own}, **training}
        for key in ("study", "widths", "confidence"):
            probe.pop(key)
        ClassifierSpec.from_dict(probe, where=where)
        hints, _ = _layout(cls)
        values = {k: _coerce(data[k], hints[k], f"{where}.{k}") for k in own}
        return cls(**values, training=training)


@functools.cache
def _layout(cls: type) -> tuple[dict[str, Any], tuple[str, ...]]:
    """A spec class's fields with their types, and the required ones (computed once a class)."""
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)
    required = tuple(
        f.name
        for f in fields
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )
    return {f.name: hints[f.name] for f in fields}, required


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """``value`` checked against the field's type, lists made tuples; numbers are kept as given
    (an integer where a float is asked stays an integer, so that a spec read back hashes as the
    config it came from); anything else of the wrong kind is refused."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(value, option, where)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if errors else f"{where}: got {value!r}")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        (item, _) = typing.get_args(hint)
        return tuple(_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    if origin is Mapping or hint is Mapping:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    return value
