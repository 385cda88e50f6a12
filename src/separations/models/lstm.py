"""LSTM backbone: PyTorch's ``nn.LSTM``, as in paper 1."""

from __future__ import annotations

import torch
from torch import nn


class LSTM(nn.Module):
    """Backbone: embedded inputs (B×T×d) → hidden states (B×T×d). ``heads`` is not used."""

    def __init__(self, width: int, depth: int, heads: int, max_len: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(width, width, num_layers=depth, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lstm(x)[0]
