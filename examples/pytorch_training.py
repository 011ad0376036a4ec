"""PyTorch training, traced: a ``train_step`` span per step with loss, gradient norms and
learning rate, and the forward passes inside it. Needs ``pip install 'pyflare-sdk[torch]'``::

    python examples/pytorch_training.py && pyflare ingest traces.jsonl && pyflare traces
"""

from __future__ import annotations

import os
import sys

import pyflare

try:
    import torch
    from torch import nn
except ImportError:
    sys.exit("this example needs PyTorch: pip install 'pyflare-sdk[torch]'")

from pyflare.torch import instrument_model, trace_training_step


def main(export: str = "file://traces.jsonl", steps: int = 5) -> None:
    handle = pyflare.init(service_name="trainer", export=export, instrument=["torch"])
    torch.manual_seed(0)
    model = instrument_model(nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1)))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    inputs, targets = torch.randn(64, 8), torch.randn(64, 1)
    for step in range(steps):
        with trace_training_step(model, optimizer, step=step, epoch=0) as traced:
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(inputs), targets)
            loss.backward()
            traced.record(loss)
            optimizer.step()
        print(f"step {step}: loss {loss.item():.4f}")
    handle.shutdown()


if __name__ == "__main__":
    main(os.environ.get("PYFLARE_EXPORT", "file://traces.jsonl"))
