"""The Hugging Face models that this package's families are checked against (tests) and timed
against (benchmarks/performance.py), configured to a family's shape in one place.

``transformers`` is a test-only dependency: it is imported when a reference is built, never when
this package is.
"""

from __future__ import annotations

from typing import Any


def _transformers():
    import transformers

    transformers.logging.set_verbosity_error()  # the CPU-path fallback notices, once per model
    return transformers


def gpt2(
    vocab: int, width: int, depth: int, heads: int, max_len: int, attention: str | None = None
):
    """GPT-2 without dropout, GELU (tanh) feed-forward of 4x the width: our ``transformer``;
    ``attention`` names Hugging Face's attention implementation (e.g. "sdpa")."""
    transformers = _transformers()
    config = transformers.GPT2Config(
        vocab_size=vocab,
        n_positions=max_len,
        n_embd=width,
        n_layer=depth,
        n_head=heads,
        n_inner=4 * width,
        activation_function="gelu_new",
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=None,
        eos_token_id=None,
        use_cache=False,
    )
    return transformers.GPT2Model(_with(config, attention))


def llama(
    vocab: int,
    width: int,
    depth: int,
    heads: int,
    ffn: int,
    max_len: int,
    attention: str | None = None,
):
    """LLaMA with full multi-head attention (no grouped keys): paper 2's Transformer."""
    transformers = _transformers()
    config = transformers.LlamaConfig(
        vocab_size=vocab,
        hidden_size=width,
        intermediate_size=ffn,
        num_hidden_layers=depth,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=max_len,
        use_cache=False,
    )
    return transformers.LlamaModel(_with(config, attention))


def mamba(vocab: int, width: int, depth: int, d_state: int = 16, **extra: Any):
    """Mamba with the mamba-ssm defaults (expansion 2, convolution 4): our ``mamba``; ``extra``
    goes to ``MambaConfig`` (e.g. ``residual_in_fp32``)."""
    transformers = _transformers()
    config = transformers.MambaConfig(
        vocab_size=vocab,
        hidden_size=width,
        state_size=d_state,
        num_hidden_layers=depth,
        expand=2,
        conv_kernel=4,
        use_cache=False,
        **extra,
    )
    return transformers.MambaModel(config)


def _with(config, attention: str | None):
    if attention is not None:
        config._attn_implementation = attention
    return config
