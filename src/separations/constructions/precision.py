"""Numeric precisions for evaluating a hand-set model: dtypes, and k-bit rounding of activations.

A precision is named by a string:

- ``float64``, ``float32``, ``bfloat16``, ``float16``: parameters and inputs are cast to that
  dtype and every operation runs in it (PyTorch's CPU kernels; some accumulate internally in a
  wider type, as hardware does).
- ``bits<K>`` (K = 1..52): float64 arithmetic in which every parameter and the result of every
  tensor operation is rounded to K explicit mantissa bits (K + 1 significant bits, round to
  nearest even), with float64's exponent range. ``bits10`` has float16's resolution and
  ``bits7`` bfloat16's, without their range limits. Rounding is done by a
  :class:`torch.overrides.TorchFunctionMode`, so it reaches the results of operations inside
  modules too (the attention scores, the softmax, LayerNorm); an operation itself (a matrix
  product's sum, a softmax's normaliser) is computed in float64 and rounded once, like hardware
  with a wide accumulator.

A value that does not fit the precision becomes inf or nan; :func:`nonfinite` and the evaluation
record that as overflow instead of failing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch.overrides import TorchFunctionMode

from .precision_names import MANTISSA as MANTISSA
from .precision_names import MAX_BITS as MAX_BITS
from .precision_names import PrecisionError as PrecisionError
from .precision_names import check as check
from .precision_names import parse_name
from .precision_names import significant_bits as significant_bits

DTYPES = {
    "float64": torch.float64,
    "float32": torch.float32,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
}


def parse(name: str) -> tuple[torch.dtype, int | None]:
    """(dtype the model runs in, mantissa bits to round to or None) for a precision name."""
    dtype, bits = parse_name(name)
    return DTYPES[dtype], bits


def round_mantissa(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Round a float64 tensor to ``bits`` explicit mantissa bits (round half to even).

    inf and nan pass through; zero stays zero. Exponents are float64's (no overflow added).
    """
    if not 1 <= bits <= MAX_BITS:
        raise PrecisionError(f"bits must be in 1..{MAX_BITS}, got {bits}")
    if x.dtype != torch.float64:
        raise TypeError(f"round_mantissa works on float64 tensors, got {x.dtype}")
    mantissa, exponent = torch.frexp(x)  # x = mantissa * 2**exponent, 0.5 <= |mantissa| < 1
    scale = float(2 ** (bits + 1))
    rounded = torch.ldexp(torch.round(mantissa * scale) / scale, exponent)
    return torch.where(torch.isfinite(x), rounded, x)


class RoundActivations(TorchFunctionMode):
    """Round the float64 result of every torch operation to ``bits`` mantissa bits."""

    def __init__(self, bits: int) -> None:
        super().__init__()
        if not 1 <= bits <= MAX_BITS:
            raise PrecisionError(f"bits must be in 1..{MAX_BITS}, got {bits}")
        self.bits = bits

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        return self._round(out)

    def _round(self, out):
        if isinstance(out, torch.Tensor):
            if out.dtype == torch.float64 and not isinstance(out, torch.nn.Parameter):
                return round_mantissa(out, self.bits)
            return out
        if type(out) is tuple:  # not torch.Size or named tuples (e.g. torch.return_types)
            return tuple(self._round(o) for o in out)
        if type(out) is list:
            return [self._round(o) for o in out]
        return out


def prepare(model: torch.nn.Module, name: str) -> torch.nn.Module:
    """Cast (or round) the model's parameters for a precision; returns the model."""
    dtype, bits = parse(name)
    model.to(dtype)
    if bits is not None:
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(round_mantissa(p, bits))
    return model


@contextlib.contextmanager
def arithmetic(name: str) -> Iterator[torch.dtype]:
    """Context in which the model is evaluated: yields the dtype of inputs and activations."""
    dtype, bits = parse(name)
    if bits is None:
        yield dtype
    else:
        with RoundActivations(bits):
            yield dtype


def nonfinite(*tensors: torch.Tensor) -> bool:
    """True if any tensor holds an inf or nan (an overflow of the precision)."""
    # max and min propagate nan and expose ±inf, without a full boolean copy of big tensors
    return any(
        t.numel() and not (bool(torch.isfinite(t.amax())) and bool(torch.isfinite(t.amin())))
        for t in tensors
    )
