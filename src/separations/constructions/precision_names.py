"""Precision names (``float64`` ... ``bits<K>``) read without torch: config.yaml's constructions
block is checked when Snakemake starts, which must not cost a torch import
(:mod:`separations.constructions.precision` maps the names to dtypes and rounding)."""

from __future__ import annotations

import re

#: explicit mantissa bits of each dtype, by name (the dtypes of
#: :data:`separations.constructions.precision.DTYPES`)
MANTISSA = {"float64": 52, "float32": 23, "bfloat16": 7, "float16": 10}
MAX_BITS = 52  # float64 has 52 explicit mantissa bits
_BITS = re.compile(r"bits(\d+)")


class PrecisionError(ValueError):
    """An unknown precision name."""


def parse_name(name: str) -> tuple[str, int | None]:
    """(name of the dtype the model runs in, mantissa bits to round to or None)."""
    if not isinstance(name, str):
        raise PrecisionError(f"precision must be a string, got {name!r}")
    if name in MANTISSA:
        return name, None
    match = _BITS.fullmatch(name)
    if match:
        bits = int(match.group(1))
        if 1 <= bits <= MAX_BITS:
            return "float64", bits
        raise PrecisionError(f"precision {name!r}: bits must be in 1..{MAX_BITS}, got {bits}")
    raise PrecisionError(
        f"unknown precision {name!r}; allowed: {', '.join(MANTISSA)}, or bits<K> with K in "
        f"1..{MAX_BITS} (K mantissa bits)"
    )


def check(name: str) -> None:
    parse_name(name)


def significant_bits(name: str) -> int:
    """Significant bits (mantissa + the implicit one) of a precision, for plots and claims."""
    _, bits = parse_name(name)
    return (MANTISSA[name] if bits is None else bits) + 1
