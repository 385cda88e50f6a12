"""Diagonal state-space model (DSS, Gupta et al. 2022; S4D, Gu et al. 2022).

Each of the ``width`` channels runs its own linear time-invariant state space with a diagonal
complex state matrix ``A`` (``d_state / 2`` modes; their complex conjugates are implied, so the
output is twice a real part)::

    x_t = exp(dt A) x_{t-1} + B_bar u_t,     B_bar = (exp(dt A) - 1) / A   (zero-order hold, B = 1)
    y_t = 2 Re(C x_t) + D u_t

Because nothing depends on the input, the map u → y is a causal convolution with the kernel
``K_l = 2 Re(sum_n C_n B_bar_n exp(dt A_n l))`` (a Vandermonde product), applied with FFTs padded
to 2T so the circular convolution does not wrap around. This is DSS's "exp" kernel; ``A`` starts
from S4D-Lin (``A_n = -1/2 + i pi n``), the diagonal approximation of the HiPPO matrix DSS
starts from, and ``dt`` is log-uniform in [1e-3, 1e-1] per channel.

A block is pre-norm residual: ``x + W_out GELU(SSM(LayerNorm(x)))``; the backbone ends with a
LayerNorm. :meth:`DiagonalSSM.discrete` exposes (exp(dt A), B_bar, C) so a test can run the
recurrence step by step and compare.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class DiagonalSSM(nn.Module):
    """Per-channel diagonal SSM: (B, T, H) → (B, T, H)."""

    def __init__(
        self, width: int, d_state: int = 64, dt_min: float = 1e-3, dt_max: float = 1e-1
    ) -> None:
        super().__init__()
        modes = d_state // 2
        self.log_dt = nn.Parameter(
            torch.rand(width) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
        )
        self.log_neg_re = nn.Parameter(torch.full((width, modes), math.log(0.5)))  # Re A < 0
        self.im = nn.Parameter(math.pi * torch.arange(modes, dtype=torch.float32).repeat(width, 1))
        # complex C ~ N(0, 1), stored as (real, imaginary) pairs
        self.C = nn.Parameter(torch.randn(width, modes, 2) * 0.5**0.5)
        self.D = nn.Parameter(torch.randn(width))

    def _dt_A(self):
        A = torch.complex(-torch.exp(self.log_neg_re), self.im)
        return torch.exp(self.log_dt)[:, None] * A, A

    def discrete(self):
        """(exp(dt A), B_bar, C), each complex of shape (width, modes)."""
        dtA, A = self._dt_A()
        decay = torch.exp(dtA)
        return decay, (decay - 1) / A, torch.view_as_complex(self.C)

    def kernel(self, length: int) -> torch.Tensor:
        """K (width, length): the response at lag l to a unit input."""
        dtA, A = self._dt_A()
        B_bar = (torch.exp(dtA) - 1) / A
        lags = torch.arange(length, device=A.device, dtype=self.log_dt.dtype)
        vandermonde = torch.exp(dtA[:, :, None] * lags)  # (width, modes, length)
        C = torch.view_as_complex(self.C)
        return 2 * torch.einsum("hn,hnl->hl", C * B_bar, vandermonde).real

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        length = u.shape[1]
        k = self.kernel(length)
        n = 2 * length  # zero padding: the circular convolution equals the linear one
        y = torch.fft.irfft(torch.fft.rfft(u.transpose(1, 2), n=n) * torch.fft.rfft(k, n=n), n=n)
        return y[..., :length].transpose(1, 2) + u * self.D


class DSSBlock(nn.Module):
    def __init__(self, width: int, d_state: int = 64) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.ssm = DiagonalSSM(width, d_state)
        self.out = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.out(F.gelu(self.ssm(self.norm(x))))


class DSS(nn.Module):
    """Backbone: embedded inputs (B×T×d) → hidden states (B×T×d). ``heads`` and ``max_len`` are
    not used (the convolution kernel is computed for each input length)."""

    def __init__(self, width: int, depth: int, heads: int, max_len: int, d_state: int = 64):
        super().__init__()
        self.blocks = nn.ModuleList(DSSBlock(width, d_state) for _ in range(depth))
        self.norm_f = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.norm_f(x)
