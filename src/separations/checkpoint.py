"""Atomic, self-checking checkpoints of one training run.

A checkpoint names the config hash it belongs to. Loading one that is truncated, unreadable or from
another configuration returns ``None`` with a warning, and the run starts over: a wrong resume is
worse than a lost one.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from .results import write_atomic

log = logging.getLogger(__name__)
FORMAT = 1


def save(path: str | Path, state: dict[str, Any], config_hash: str) -> None:
    payload = {"format": FORMAT, "config_hash": config_hash, **state}
    write_atomic(path, lambda tmp: torch.save(payload, tmp))


def load(path: str | Path, config_hash: str) -> dict[str, Any] | None:
    """The saved state, or None (with a warning) when it is missing, corrupt or incompatible."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - any failure to read means "start over"
        log.warning(
            "checkpoint %s is unreadable (%s: %s); starting this run from scratch",
            path,
            type(e).__name__,
            e,
        )
        return None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        log.warning("checkpoint %s has an unknown format; starting this run from scratch", path)
        return None
    if payload.get("config_hash") != config_hash:
        log.warning(
            "checkpoint %s belongs to config %s, not %s; starting this run from scratch",
            path,
            payload.get("config_hash"),
            config_hash,
        )
        return None
    return payload
