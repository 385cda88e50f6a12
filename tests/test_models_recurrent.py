"""Model families: shapes and causality for all, and each recurrent family's fast form against
its step-by-step definition (float64, so agreement is to rounding)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from separations.models import FAMILIES, build_model
from separations.models.dss import DiagonalSSM
from separations.models.linear_attention import (
    LinearAttention,
    LinearTransformer,
    decayed_linear_attention,
)
from separations.models.mamba import (
    Mamba,
    MambaBlock,
    MambaMixer,
    selective_scan,
    selective_scan_reference,
)
from separations.models.retnet import MultiScaleRetention, RetNet, decays

F64 = torch.float64


def task(input_kind: str = "tokens", max_len: int = 12):
    return SimpleNamespace(vocab_size=7, num_outputs=5, max_len=max_len, input_kind=input_kind)


def heads_for(family: str) -> int | None:
    return 2 if FAMILIES[family].uses_heads else None


def inputs(input_kind: str, batch: int, length: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if input_kind == "tokens":
        return torch.randint(0, 7, (batch, length), generator=g)
    return torch.randn(batch, length, 7, generator=g, dtype=F64)


def test_registry_has_the_paper_families():
    assert {"transformer", "lstm", "mamba", "dss", "retnet", "linear"} <= set(FAMILIES)
    for name in ["lstm", "mamba", "dss", "retnet", "linear"]:
        assert FAMILIES[name].recurrent
    assert not FAMILIES["transformer"].recurrent


@pytest.mark.parametrize("input_kind", ["tokens", "vectors"])
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_shapes(family, input_kind):
    model = build_model(family, task(input_kind), depth=2, width=8, heads=heads_for(family))
    x = inputs(input_kind, 3, 10)
    logits = model(x if input_kind == "tokens" else x.float())
    assert logits.shape == (3, 10, 5)
    assert torch.isfinite(logits).all()
    logits.sum().backward()  # every family trains end to end
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_causal(family):
    """Changing the input at position t leaves every output before t unchanged."""
    torch.manual_seed(0)
    model = build_model(family, task(), depth=2, width=8, heads=heads_for(family)).double()
    model.eval()
    x = inputs("tokens", 2, 12)
    base = model(x)
    for t in [0, 5, 11]:
        changed = x.clone()
        changed[:, t] = (changed[:, t] + 1) % 7
        out = model(changed)
        torch.testing.assert_close(out[:, :t], base[:, :t], rtol=0, atol=1e-10)
        assert (out[:, t:] - base[:, t:]).abs().max() > 1e-6  # and the change does arrive


# -- Mamba ---------------------------------------------------------------------------------------
def scan_inputs(batch, length, d, n, seed, requires_grad=True):
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(batch, length, d, generator=g, dtype=F64)
    dt = F.softplus(torch.randn(batch, length, d, generator=g, dtype=F64) - 1)
    A = -torch.exp(torch.randn(d, n, generator=g, dtype=F64))
    B = torch.randn(batch, length, n, generator=g, dtype=F64)
    C = torch.randn(batch, length, n, generator=g, dtype=F64)
    D = torch.randn(d, generator=g, dtype=F64)
    return [z.requires_grad_(requires_grad) for z in (u, dt, A, B, C, D)]


@settings(max_examples=20, deadline=None)
@given(
    batch=st.integers(1, 3),
    length=st.integers(1, 40),
    d=st.integers(1, 6),
    n=st.integers(1, 5),
    seed=st.integers(0, 2**31 - 1),
)
def test_mamba_fast_scan_matches_reference(batch, length, d, n, seed):
    args = scan_inputs(batch, length, d, n, seed)
    fast, ref = selective_scan(*args), selective_scan_reference(*args)
    torch.testing.assert_close(fast, ref, rtol=1e-12, atol=1e-12)
    weights = torch.randn(fast.shape, dtype=F64, generator=torch.Generator().manual_seed(seed))
    grads_fast = torch.autograd.grad((fast * weights).sum(), args)
    grads_ref = torch.autograd.grad((ref * weights).sum(), args)
    for name, a, b in zip("u dt A B C D".split(), grads_fast, grads_ref, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10, msg=f"gradient of {name}")


def test_mamba_fast_scan_gradcheck():
    args = scan_inputs(2, 10, 3, 2, seed=1)
    assert torch.autograd.gradcheck(selective_scan, args)


def test_mamba_scan_strong_decay_is_stable():
    """Large steps (decay exp(dt A) underflows to 0) give the reference's finite numbers."""
    args = scan_inputs(2, 30, 3, 4, seed=2, requires_grad=False)
    args[1] = args[1] * 1e4
    fast, ref = selective_scan(*args), selective_scan_reference(*args)
    assert torch.isfinite(fast).all()
    torch.testing.assert_close(fast, ref, rtol=1e-12, atol=1e-12)


def test_mamba_init():
    mixer = MambaMixer(16, d_state=8)
    a = torch.arange(1, 9, dtype=torch.float32).repeat(32, 1)
    torch.testing.assert_close(mixer.A_log, torch.log(a))
    dt = F.softplus(mixer.dt_proj.bias)
    assert ((dt >= 1e-3 * 0.999) & (dt <= 1e-1 * 1.001)).all()
    assert mixer.dt_rank == math.ceil(16 / 16)


def test_mamba_interfaces():
    """The names and signatures another part of the project imports."""
    x = torch.randn(2, 9, 12)
    assert MambaMixer(12, d_state=4, d_conv=3, expand=2)(x).shape == x.shape
    assert MambaBlock(12)(x).shape == x.shape
    assert Mamba(width=12, depth=2, heads=1, max_len=9)(x).shape == x.shape


# -- DSS -----------------------------------------------------------------------------------------
def test_dss_fft_convolution_matches_recurrence():
    torch.manual_seed(0)
    layer = DiagonalSSM(4, d_state=16).double()
    with torch.no_grad():  # spread the step sizes so slow and fast modes are both exercised
        layer.log_dt.copy_(torch.linspace(math.log(1e-3), math.log(1.0), 4))
    u = torch.randn(3, 50, 4, dtype=F64)
    decay, B_bar, C = layer.discrete()
    x = torch.zeros(3, 4, decay.shape[1], dtype=torch.complex128)
    ys = []
    for t in range(u.shape[1]):
        x = decay * x + B_bar * u[:, t, :, None]
        ys.append(2 * (C * x).sum(-1).real + layer.D * u[:, t])
    torch.testing.assert_close(layer(u), torch.stack(ys, dim=1), rtol=1e-10, atol=1e-10)


def test_dss_init_is_s4d_lin():
    layer = DiagonalSSM(3, d_state=8)
    decay, _, _ = layer.discrete()
    A = torch.complex(-torch.exp(layer.log_neg_re), layer.im)
    torch.testing.assert_close(
        A[0], torch.complex(torch.full((4,), -0.5), math.pi * torch.arange(4.0))
    )
    assert (decay.abs() < 1).all()
    dt = torch.exp(layer.log_dt)
    assert ((dt >= 1e-3 * 0.999) & (dt <= 1e-1 * 1.001)).all()


# -- RetNet --------------------------------------------------------------------------------------
def test_retnet_decay_schedule():
    torch.testing.assert_close(
        decays(4), torch.tensor([1 - 1 / 32, 1 - 1 / 64, 1 - 1 / 128, 1 - 1 / 256], dtype=F64)
    )


# RetNet's retention and the Linear Transformer's attention: the chunkwise parallel form
@pytest.mark.parametrize("layer_class", [MultiScaleRetention, LinearAttention])
@pytest.mark.parametrize("chunk", [1, 7, 64])  # 64 > T: the plain parallel form
def test_layer_parallel_matches_recurrent(layer_class, chunk):
    torch.manual_seed(0)
    layer = layer_class(12, heads=3).double()
    x = torch.randn(2, 40, 12, dtype=F64)
    torch.testing.assert_close(layer(x, chunk), layer.recurrent(x), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("backbone_class", [RetNet, LinearTransformer])
def test_backbone_parallel_matches_recurrent(backbone_class):
    torch.manual_seed(0)
    backbone = backbone_class(width=12, depth=2, heads=3, max_len=40).double()
    x = torch.randn(2, 40, 12, dtype=F64)
    torch.testing.assert_close(backbone(x), backbone(x, recurrent=True), rtol=1e-10, atol=1e-10)


def test_decayed_linear_attention_matches_masked_matrix():
    """The chunkwise form against the definition sum_{s<=t} gamma^(t-s) (q_t·k_s) v_s."""
    g = torch.Generator().manual_seed(0)
    q, k = (torch.randn(2, 3, 23, 4, generator=g, dtype=F64) for _ in range(2))
    v = torch.randn(2, 3, 23, 5, generator=g, dtype=F64)
    log_gamma = torch.log(decays(3))
    t = torch.arange(23, dtype=F64)
    lag = t[:, None] - t[None, :]
    D = torch.exp(log_gamma[:, None, None] * lag.clamp(min=0)) * (lag >= 0)
    expected = ((q @ k.transpose(-2, -1)) * D) @ v
    for chunk in [1, 4, 23, 100]:
        got = decayed_linear_attention(q, k, v, log_gamma, chunk)
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)


# -- Linear Transformer --------------------------------------------------------------------------
def test_linear_attention_is_a_weighted_average():
    """With phi > 0 and the normaliser, each output is a convex combination of the values."""
    torch.manual_seed(0)
    layer = LinearAttention(4, heads=1).double()
    x = torch.randn(1, 8, 4, dtype=F64)
    q, k, v = layer._features(x)
    assert (q > 0).all() and (k > 0).all()
    weights = torch.tril(q[0, 0] @ k[0, 0].T)
    weights = weights / weights.sum(-1, keepdim=True)
    expected = layer.proj((weights @ v[0, 0])[None])
    torch.testing.assert_close(layer(x), expected, rtol=1e-6, atol=1e-9)
