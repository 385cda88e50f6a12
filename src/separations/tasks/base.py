"""The task interface every synthetic task implements.

A task turns a seeded ``torch.Generator`` into a :class:`Batch`. Training batches are drawn fresh at
every step; the evaluation set is drawn once (``train=False``: every example has length exactly N)
and written to a file by the pipeline's data rule, so every model is scored on the same examples.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from ..errors import ConfigError
from ._lazy import F, torch


@dataclass
class Batch:
    """A batch of examples, right-padded to the longest one.

    ``inputs`` are token ids (B×T, long) or vectors (B×T×d, float); ``lengths`` holds the true
    length of each example; ``targets`` is whatever the task's loss expects; ``extra`` carries
    task-specific tensors (kept with the batch when it is sliced, moved or written to a file).
    """

    inputs: torch.Tensor
    lengths: torch.Tensor
    targets: torch.Tensor
    extra: dict[str, torch.Tensor] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def tensors(self) -> dict[str, torch.Tensor]:
        named = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        return {**named, **self.extra}

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor]) -> Batch:
        tensors = dict(tensors)
        core = {name: tensors.pop(name) for name in ("inputs", "lengths", "targets")}
        return cls(**core, extra=tensors)

    def map(self, fn) -> Batch:
        return Batch.from_tensors({k: fn(v) for k, v in self.tensors().items()})

    def to(self, device: torch.device | str) -> Batch:
        return self.map(lambda t: t.to(device))

    def slice(self, start: int, stop: int) -> Batch:
        """Rows start..stop, trimmed to their own longest example."""
        part = self.map(lambda t: t[start:stop])
        width = int(part.lengths.max())
        full = self.inputs.shape[1]

        def trim(t: torch.Tensor) -> torch.Tensor:
            return t[:, :width] if t.dim() >= 2 and t.shape[1] == full else t

        return part.map(trim)


class Task(ABC):
    """One synthetic task at one length N.

    Subclasses set the class attributes and implement :meth:`sample` and :meth:`describe`.
    ``readout`` says which model outputs the loss sees: ``"last"`` reads the output at each
    example's last real token (one prediction per example; the models are causal, so that position
    has seen the whole input); ``"all"`` reads every position (next-character prediction).
    """

    name: ClassVar[str]
    input_kind: ClassVar[str] = (
        "tokens"  # "tokens" (an embedding table) or "vectors" (a projection)
    )
    readout: ClassVar[str] = "last"
    #: task parameters and their defaults; config blocks may override them
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, length: int, **params: Any) -> None:
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise ConfigError(
                f"task {self.name!r}: unknown parameter(s) {unknown}; "
                f"allowed: {sorted(self.defaults)}"
            )
        self.length = int(length)
        self.params = {**self.defaults, **params}
        problems = self.check(self.length, self.params)
        if problems:
            raise ConfigError(f"task {self.name!r} at length {length}: " + "; ".join(problems))

    # -- what a subclass provides -------------------------------------------------------------
    @classmethod
    def check(cls, length: int, params: dict[str, Any]) -> list[str]:
        """Problems with (length, params), as messages; empty when the task can be built."""
        return []

    @property
    @abstractmethod
    def vocab_size(self) -> int:
        """Number of input token ids (tokens) or the input dimension (vectors)."""

    @property
    @abstractmethod
    def num_outputs(self) -> int:
        """Size of the model's output layer."""

    @property
    @abstractmethod
    def max_len(self) -> int:
        """Longest sequence this task produces (positions a model must support)."""

    @abstractmethod
    def sample(self, batch_size: int, generator: torch.Generator, *, train: bool) -> Batch:
        """Draw a batch. ``train=False`` draws evaluation examples (length exactly N)."""

    @abstractmethod
    def describe(self, batch: Batch) -> dict[str, list]:
        """Human-readable columns for the dump: at least ``tokens`` and ``target``."""

    # -- loss and accuracy: classification at the last token by default -----------------------
    def select(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        """The outputs the loss sees (B×C for ``last``)."""
        if self.readout == "last":
            rows = torch.arange(logits.shape[0], device=logits.device)
            return logits[rows, batch.lengths - 1]
        return logits

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        return F.cross_entropy(self.select(logits, batch), batch.targets)

    def correct(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Boolean per example: is the prediction right?"""
        return self.select(logits, batch).argmax(-1) == batch.targets

    @property
    def chance(self) -> float:
        return 1.0 / self.num_outputs


def pad_right(rows: list[torch.Tensor], value: int = 0) -> torch.Tensor:
    """Stack 1-D tensors of different lengths, right-padded with ``value``."""
    width = max(int(r.shape[0]) for r in rows)
    out = torch.full((len(rows), width), value, dtype=rows[0].dtype)
    for i, r in enumerate(rows):
        out[i, : r.shape[0]] = r
    return out
