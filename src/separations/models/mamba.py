"""Mamba (Gu & Dao, 2023): a selective state-space model, Mamba-1, in plain PyTorch.

One mixer layer, per channel ``d`` of the expanded stream and state index ``n``::

    h_t[d, n] = exp(dt_t[d] * A[d, n]) * h_{t-1}[d, n] + dt_t[d] * B_t[n] * u_t[d]
    y_t[d]    = sum_n C_t[n] * h_t[d, n] + D[d] * u_t[d]

``dt``, ``B`` and ``C`` depend on the input (the "selection"); ``A = -exp(A_log)`` is negative, so
every step decays the state. Around the scan: an input projection to the stream ``u`` and a gate
``z``, a causal depthwise convolution and SiLU on ``u``, the output gated by ``SiLU(z)`` and
projected back. Layout and initialisation follow the reference implementation (``mamba-ssm``) so
that weights load one to one into Hugging Face's ``MambaModel``, which a test checks.

The scan is the cost. :func:`selective_scan_reference` runs it one step at a time under
autograd (the definition, used by the tests). :func:`selective_scan` computes the same numbers
with a hand-written backward (:class:`_SelectiveScan`) that keeps a state only every ``sqrt(T)``
steps and recomputes the rest, so memory stays small and no per-step autograd graph is built;
with ``mamba_ssm`` installed and tensors on CUDA, its fused kernel is used instead.

Why no parallel scan: the decays differ per channel and state, so there is no matrix form (as
in Mamba-2) and every formulation touches batch × T × d × n numbers several times. The closed
form inside a chunk of length L either does L times the arithmetic (pairwise decay differences)
or divides by decay products that overflow; and any chunked version materialises full-size
tensors. One we tried (all chunks scanned at once, the state then carried across boundaries
through cumulative sums of log-decays) ran about 8x slower than the plain loop on the
development CPU: the loop's cost is arithmetic, not Python, once a step updates 64 × 128 × 16
numbers.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

try:  # optional fused CUDA kernel; nothing here requires it
    from mamba_ssm.ops.selective_scan_interface import selective_scan_fn as _cuda_scan
except Exception:  # missing, or built for another CUDA/torch: use the PyTorch scan
    _cuda_scan = None

LOG2E = math.log2(math.e)


class RMSNorm(nn.Module):
    """x / rms(x) * weight (the norm Mamba uses in place of LayerNorm)."""

    def __init__(self, width: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def selective_scan_reference(u, dt, A, B, C, D=None):
    """The recurrence above, one step at a time.

    u, dt: (batch, T, d); A: (d, n); B, C: (batch, T, n); D: (d,) or None → y: (batch, T, d).
    ``dt`` is the step size after softplus.
    """
    h = u.new_zeros(u.shape[0], u.shape[2], A.shape[1])
    ys = []
    for dt_t, u_t, B_t, C_t in zip(*(z.unbind(1) for z in (dt, u, B, C)), strict=True):
        h = torch.exp(dt_t[:, :, None] * A) * h + (dt_t * u_t)[:, :, None] * B_t[:, None, :]
        ys.append((h * C_t[:, None, :]).sum(-1))
    y = torch.stack(ys, dim=1)
    return y if D is None else y + u * D


class _SelectiveScan(torch.autograd.Function):
    """The scan with a hand-written backward that never holds all T states at once.

    Autograd through the step loop would keep every state (batch × T × d × n floats: 200 MB per
    layer at batch 64, T = 400, d = 128, n = 16), and on CPU allocating and first touching that
    much memory costs more than the arithmetic. Here the forward keeps only the state at the
    start of every chunk of ``K = isqrt(T)`` steps; the backward recomputes one chunk's states
    into K reused buffers and walks it in reverse with the adjoint recurrence
    ``g_t = dL/dy_t ⊗ C_t + exp(dt_{t+1} A) g_{t+1}`` (dL/dh_t through all later steps).

    Working layout is (T, n, batch, d): one step updates a contiguous (n, batch, d) slab.
    ``exp(x)`` is computed as ``exp2(x log2 e)``: the same number, several times faster than
    ``torch.exp`` on the development CPU.
    """

    @staticmethod
    def forward(ctx, u, dt, A, B, C):
        u_, dt_ = (z.transpose(0, 1).contiguous() for z in (u, dt))  # (T, b, d)
        B_, C_ = (z.permute(1, 2, 0).unsqueeze(-1).contiguous() for z in (B, C))  # (T, n, b, 1)
        At = A.t().unsqueeze(1).contiguous()  # (n, 1, d)
        At2 = At * LOG2E
        xs = dt_ * u_  # the input's weight dt_t u_t, outer product with B_t at each step
        length = u_.shape[0]
        K = max(1, math.isqrt(length))
        h = u_.new_zeros(At.shape[0], *u_.shape[1:])  # (n, b, d)
        tmp = torch.empty_like(h)
        y = torch.empty_like(u_)
        checkpoints = []
        for t in range(length):
            if t % K == 0:
                checkpoints.append(h.clone())
            h.mul_(torch.mul(dt_[t], At2, out=tmp).exp2_()).addcmul_(B_[t], xs[t])
            torch.sum(torch.mul(h, C_[t], out=tmp), 0, out=y[t])
        ctx.K = K
        ctx.save_for_backward(u_, dt_, At, B_, C_, xs, *checkpoints)
        return y.transpose(0, 1)

    @staticmethod
    @once_differentiable
    def backward(ctx, gy):
        u_, dt_, At, B_, C_, xs, *checkpoints = ctx.saved_tensors
        At2 = At * LOG2E
        gy_ = gy.transpose(0, 1).contiguous()
        length, K = u_.shape[0], ctx.K
        g = torch.zeros_like(checkpoints[0])  # dL/dh_t
        glog, tmp, boundary = (torch.empty_like(g) for _ in range(3))
        gA = torch.zeros_like(g)  # summed over the batch at the end
        gxs, gdt = torch.empty_like(u_), torch.empty_like(u_)
        gB, gC = torch.empty_like(B_), torch.empty_like(C_)
        hs = [torch.empty_like(g) for _ in range(K + 1)]  # h_{start-1} .. h_{end-1}
        decays = [torch.empty_like(g) for _ in range(K)]
        for c in range(len(checkpoints) - 1, -1, -1):
            start, end = c * K, min(length, c * K + K)
            hs[0].copy_(checkpoints[c])
            for i, t in enumerate(range(start, end)):
                torch.mul(dt_[t], At2, out=decays[i]).exp2_()
                torch.mul(decays[i], hs[i], out=hs[i + 1]).addcmul_(B_[t], xs[t])
            for t in range(end - 1, start - 1, -1):
                i = t - start
                if t + 1 < length:  # carry g_{t+1} back through the decay of step t + 1
                    g.mul_(decays[i + 1] if t + 1 < end else boundary)
                g.addcmul_(C_[t], gy_[t])
                torch.sum(torch.mul(hs[i + 1], gy_[t], out=tmp), -1, keepdim=True, out=gC[t])
                torch.sum(torch.mul(g, B_[t], out=tmp), 0, out=gxs[t])
                torch.sum(torch.mul(g, xs[t], out=tmp), -1, keepdim=True, out=gB[t])
                # d/d(dt_t A): g_t * h_{t-1} * decay_t
                torch.mul(g, decays[i], out=glog).mul_(hs[i])
                torch.sum(torch.mul(glog, At, out=tmp), 0, out=gdt[t])
                gA.addcmul_(glog, dt_[t])
            boundary.copy_(decays[0])
        gdt.addcmul_(gxs, u_)
        gu = gxs.mul_(dt_)
        return (
            gu.transpose(0, 1),
            gdt.transpose(0, 1),
            gA.sum(1).t(),
            gB.squeeze(-1).permute(2, 0, 1),
            gC.squeeze(-1).permute(2, 0, 1),
        )


def selective_scan(u, dt, A, B, C, D=None):
    """Same result as :func:`selective_scan_reference`: the fused CUDA kernel of ``mamba_ssm``
    when it is installed and the tensors are on CUDA, else :class:`_SelectiveScan`."""
    if _cuda_scan is not None and u.is_cuda:
        y = _cuda_scan(
            u.transpose(1, 2).contiguous(),
            dt.transpose(1, 2).contiguous(),
            A.contiguous(),
            B.transpose(1, 2).contiguous(),
            C.transpose(1, 2).contiguous(),
            D,
        )
        return y.transpose(1, 2)
    y = _SelectiveScan.apply(u, dt, A, B, C)
    return y if D is None else y + u * D


class MambaMixer(nn.Module):
    """The Mamba layer: (B, T, d_model) → (B, T, d_model)."""

    def __init__(
        self,
        d_model: int,
        d_state: int = 16,
        d_conv: int = 4,
        expand: int = 2,
        dt_rank: int | None = None,
        dt_min: float = 1e-3,
        dt_max: float = 1e-1,
        dt_floor: float = 1e-4,
    ) -> None:
        super().__init__()
        inner = expand * d_model
        self.inner, self.d_state = inner, d_state
        self.dt_rank = dt_rank or math.ceil(d_model / 16)
        self.in_proj = nn.Linear(d_model, 2 * inner, bias=False)
        self.conv1d = nn.Conv1d(inner, inner, d_conv, groups=inner, padding=d_conv - 1)
        self.x_proj = nn.Linear(inner, self.dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, inner)
        self.out_proj = nn.Linear(inner, d_model, bias=False)
        # S4D-real init: A[d, n] = -(n + 1) on every channel
        a = torch.arange(1, d_state + 1, dtype=torch.float32).repeat(inner, 1)
        self.A_log = nn.Parameter(torch.log(a))
        self.D = nn.Parameter(torch.ones(inner))
        # step sizes log-uniform in [dt_min, dt_max] at init: set the bias to softplus^-1(dt)
        with torch.no_grad():
            bound = self.dt_rank**-0.5
            nn.init.uniform_(self.dt_proj.weight, -bound, bound)
            dt = torch.exp(
                torch.rand(inner) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
            ).clamp(min=dt_floor)
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))

    def scan_inputs(self, x: torch.Tensor):
        """Everything before the scan: (u, dt, A, B, C) for :func:`selective_scan`; the gate."""
        t = x.shape[1]
        u, z = self.in_proj(x).chunk(2, dim=-1)
        u = F.silu(self.conv1d(u.transpose(1, 2))[..., :t].transpose(1, 2))  # causal: drop tail
        dt, B, C = self.x_proj(u).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        dt = F.softplus(self.dt_proj(dt))
        return (u, dt, -torch.exp(self.A_log), B, C), z

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (u, dt, A, B, C), z = self.scan_inputs(x)
        y = selective_scan(u, dt, A, B, C, self.D)
        return self.out_proj(y * F.silu(z))


class MambaBlock(nn.Module):
    """Pre-norm residual block: x + mixer(RMSNorm(x))."""

    def __init__(
        self, d_model: int, d_state: int = 16, d_conv: int = 4, expand: int = 2, eps: float = 1e-5
    ) -> None:
        super().__init__()
        self.norm = RMSNorm(d_model, eps)
        self.mixer = MambaMixer(d_model, d_state=d_state, d_conv=d_conv, expand=expand)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mixer(self.norm(x))


class Mamba(nn.Module):
    """Backbone: embedded inputs (B×T×d) → hidden states (B×T×d). ``heads`` and ``max_len`` are
    not used (no positional encoding: the recurrence orders the sequence).

    As in ``mamba-ssm``, every output projection is scaled by 1/sqrt(depth) at initialisation so
    that the residual stream does not grow with depth.
    """

    def __init__(
        self,
        width: int,
        depth: int,
        heads: int,
        max_len: int,
        d_state: int = 16,
        d_conv: int = 4,
        expand: int = 2,
    ) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            MambaBlock(width, d_state=d_state, d_conv=d_conv, expand=expand) for _ in range(depth)
        )
        self.norm_f = RMSNorm(width)
        with torch.no_grad():
            for layer in self.layers:
                layer.mixer.out_proj.weight /= math.sqrt(depth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return self.norm_f(x)
