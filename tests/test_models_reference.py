"""Our models against Hugging Face ``transformers`` (a test-only dependency): the same weights
loaded into both must give the same hidden states.

- Transformer vs ``GPT2Model``: GPT-2 stores its projections as ``Conv1D`` with (in, out)
  weights, the transpose of ``nn.Linear``; its ``gelu_new`` is the tanh GELU; dropout is off.
- Mamba vs ``MambaModel``: the same parameter names (HF's pure-PyTorch path runs the scan one
  step at a time, so this also checks our fast scan against an independent implementation).
- Paper 2's LLaMA backbone vs ``LlamaModel`` (RMSNorm, rotate-half rotary positions, SwiGLU, no
  biases): the same weights under other names; the hidden states, from the same embedded
  inputs, and with a key-value cache fed one token at a time.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the network
transformers = pytest.importorskip("transformers")

from separations.models import build_model, references  # noqa: E402
from separations.models.llama import Llama  # noqa: E402
from separations.models.mamba import Mamba  # noqa: E402


def test_transformer_matches_gpt2():
    width, depth, heads, max_len, vocab = 32, 2, 4, 20, 11
    torch.manual_seed(0)
    hf = references.gpt2(vocab, width, depth, heads, max_len).eval()
    task = SimpleNamespace(vocab_size=vocab, num_outputs=3, max_len=max_len, input_kind="tokens")
    ours = build_model("transformer", task, depth=depth, width=width, heads=heads).eval()

    with torch.no_grad():
        for p in hf.parameters():  # non-trivial LayerNorm parameters and biases too
            p.add_(0.05 * torch.randn_like(p))
        hf_state = hf.state_dict()
        ours.encoder.weight.copy_(hf_state["wte.weight"])
        ours.backbone.pos.weight.copy_(hf_state["wpe.weight"])
        for i, block in enumerate(ours.backbone.blocks):
            prefix = f"h.{i}."
            pairs = {
                "ln1": "ln_1",
                "ln2": "ln_2",
                "attn.qkv": "attn.c_attn",
                "attn.proj": "attn.c_proj",
                "mlp.0": "mlp.c_fc",
                "mlp.2": "mlp.c_proj",
            }
            for mine, theirs in pairs.items():
                module = block.get_submodule(mine)
                weight = hf_state[prefix + theirs + ".weight"]
                module.weight.copy_(weight if mine.startswith("ln") else weight.T)
                module.bias.copy_(hf_state[prefix + theirs + ".bias"])
        ours.backbone.ln_f.weight.copy_(hf_state["ln_f.weight"])
        ours.backbone.ln_f.bias.copy_(hf_state["ln_f.bias"])

        ids = torch.randint(0, vocab, (3, max_len))
        expected = hf(input_ids=ids).last_hidden_state
        got = ours.backbone(ours.encoder(ids))
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_mamba_matches_hf_mamba():
    width, depth, d_state = 16, 2, 4
    torch.manual_seed(0)
    hf = references.mamba(10, width, depth, d_state, residual_in_fp32=False).eval()
    with torch.no_grad():
        for p in hf.parameters():
            p.add_(0.05 * torch.randn_like(p))
    ours = Mamba(width, depth, heads=1, max_len=30, d_state=d_state).eval()
    state = {k: v for k, v in hf.state_dict().items() if not k.startswith("embeddings.")}
    ours.load_state_dict(state)  # strict: every parameter has its counterpart

    x = torch.randn(3, 30, width)
    with torch.no_grad():
        expected = hf(inputs_embeds=x, use_cache=False).last_hidden_state
        got = ours(x)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    # one mixer alone, too
    with torch.no_grad():
        torch.testing.assert_close(
            ours.layers[0].mixer(x), hf.layers[0].mixer(x), rtol=1e-5, atol=1e-5
        )


@pytest.mark.parametrize("attention", ["eager", "sdpa"])
def test_llama_matches_hf_llama(attention):
    width, depth, heads, ffn, max_len = 32, 2, 4, 48, 12
    torch.manual_seed(0)
    hf = references.llama(11, width, depth, heads, ffn, max_len, attention).eval()
    ours = Llama(width, depth, heads, max_len, ffn=ffn).eval()
    names = {"attn_norm": "input_layernorm", "mlp_norm": "post_attention_layernorm"}
    names |= {"attn.q": "self_attn.q_proj", "attn.k": "self_attn.k_proj"}
    names |= {"attn.v": "self_attn.v_proj", "attn.o": "self_attn.o_proj"}
    names |= {"mlp.gate": "mlp.gate_proj", "mlp.up": "mlp.up_proj", "mlp.down": "mlp.down_proj"}
    theirs = hf.state_dict()
    with torch.no_grad():
        for name, param in ours.named_parameters():
            key = name
            for a, b in names.items():
                key = key.replace(f".{a}.", f".{b}.")
            param.copy_(torch.randn_like(param) * 0.3)  # not the init: every weight matters
            theirs[key].copy_(param)
    x = torch.randn(3, max_len, width)
    expected = hf(inputs_embeds=x, use_cache=False).last_hidden_state
    torch.testing.assert_close(ours(x), expected, rtol=1e-4, atol=1e-5)
    # generation's path: the cache, one position at a time
    cache = ours.new_cache(3, x)
    steps = [ours(x[:, i : i + 1], cache) for i in range(max_len)]
    torch.testing.assert_close(torch.cat(steps, 1), expected, rtol=1e-4, atol=1e-5)
