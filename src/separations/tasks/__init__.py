"""Task registry: a task is one module plus one entry here."""

from __future__ import annotations

from .base import Batch, ConfigError, Task
from .dyck import BoundedDyck
from .equality import EqualityNextCharacter, EqualityOne, EqualityRandom
from .idxl import IndexLookup
from .istree import IsTree
from .mqar import MultiQueryRecall
from .nn import NearestNeighbour

TASKS: dict[str, type[Task]] = {
    IndexLookup.name: IndexLookup,
    IsTree.name: IsTree,
    BoundedDyck.name: BoundedDyck,
    EqualityRandom.name: EqualityRandom,
    EqualityOne.name: EqualityOne,
    EqualityNextCharacter.name: EqualityNextCharacter,
    NearestNeighbour.name: NearestNeighbour,
    MultiQueryRecall.name: MultiQueryRecall,
}


def get_task(name: str) -> type[Task]:
    try:
        return TASKS[name]
    except KeyError:
        raise ConfigError(f"unknown task {name!r}; allowed: {', '.join(sorted(TASKS))}") from None


def build_task(name: str, length: int, params: dict | None = None) -> Task:
    return get_task(name)(length, **(params or {}))


__all__ = ["TASKS", "Batch", "Task", "ConfigError", "build_task", "get_task"]
