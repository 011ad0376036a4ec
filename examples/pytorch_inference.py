"""PyTorch inference, traced: a span per forward pass, and a profiled inference block.

``instrument_model`` records the model class, parameter count, input and output shapes
and dtypes, device, batch size and memory; ``trace_inference(profile=True)`` adds the
``torch.profiler`` totals and top operators. Needs ``pip install 'pyflare-sdk[torch]'``::

    python examples/pytorch_inference.py && pyflare ingest traces.jsonl && pyflare traces
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

from pyflare.torch import instrument_model, trace_inference


def make_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4)).eval()


def main(export: str = "file://traces.jsonl") -> None:
    handle = pyflare.init(service_name="classifier", export=export, instrument=["torch"])
    model = instrument_model(make_model(), name="intent-classifier")
    batch = torch.randn(8, 16)
    with torch.inference_mode(), trace_inference("batch", model=model, profile=True):
        for _ in range(3):
            scores = model(batch)
    print(scores.argmax(dim=1).tolist())
    handle.shutdown()


if __name__ == "__main__":
    main(os.environ.get("PYFLARE_EXPORT", "file://traces.jsonl"))
