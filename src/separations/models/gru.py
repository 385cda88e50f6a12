"""GRU backbone: PyTorch's ``nn.GRU`` (the worked example of docs/extending.md)."""

from __future__ import annotations

import torch
from torch import nn


class GRU(nn.Module):
    """Backbone: embedded inputs (B×T×d) → hidden states (B×T×d). ``heads`` is not used."""

    def __init__(self, width: int, depth: int, heads: int, max_len: int) -> None:
        super().__init__()
        self.gru = nn.GRU(width, width, num_layers=depth, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gru(x)[0]
