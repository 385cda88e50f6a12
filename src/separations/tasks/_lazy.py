"""torch for the task modules, imported when a task first uses it.

Snakemake reads the task registry (names, default parameters, length checks) every time it
starts, to validate config.yaml; none of that needs torch, whose import is about a second of every
start-up (a dry run, ``snakemake figures``). Generating data does need it, and the first attribute
looked up here imports it.
"""

from __future__ import annotations

import importlib
from typing import Any


class LazyModule:
    """Stands for the module ``name``; the first attribute looked up imports it."""

    def __init__(self, name: str) -> None:
        self.__dict__["_name"] = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self.__dict__["_name"]), attr)

    def __repr__(self) -> str:
        return f"<lazy module {self.__dict__['_name']!r}>"


torch: Any = LazyModule("torch")
F: Any = LazyModule("torch.nn.functional")

__all__ = ["F", "torch"]
