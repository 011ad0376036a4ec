"""PyTorch: forward passes, inference and training steps of a tiny CPU model.

Skipped when PyTorch is not installed (it is not a test dependency: it is large).
"""

from __future__ import annotations

import json

import pytest
from sdk_support import Recorded, attrs, is_child

torch = pytest.importorskip("torch")
nn = torch.nn

from pyflare.torch import (  # noqa: E402
    instrument_model,
    trace_inference,
    trace_training_step,
    uninstrument_model,
)


def tiny() -> object:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))


def test_forward_spans(traced: Recorded) -> None:
    model = instrument_model(tiny(), name="clf")
    output = model(torch.randn(3, 4))
    assert output.shape == (3, 2)
    span = traced.one("forward clf")
    a = attrs(span)
    assert a["ml.model.parameters"] == 4 * 8 + 8 + 8 * 2 + 2
    assert a["ml.batch_size"] == 3
    assert a["ml.device"] == "cpu"
    assert json.loads(a["ml.input.shapes"]) == [[3, 4]]
    assert json.loads(a["ml.output.shapes"]) == [[3, 2]]
    assert json.loads(a["ml.input.dtypes"]) == ["float32"]
    assert a["ml.memory.process_peak_bytes"] > 0
    uninstrument_model(model)
    model(torch.randn(1, 4))
    assert len(traced.named("forward clf")) == 1


def test_forward_error_is_recorded(traced: Recorded) -> None:
    model = instrument_model(tiny(), name="clf")
    with pytest.raises(RuntimeError):
        model(torch.randn(3, 5))
    assert attrs(traced.one("forward clf"))["error.type"] == "RuntimeError"


def test_inference_with_profile(traced: Recorded) -> None:
    model = instrument_model(tiny(), name="clf")
    with torch.inference_mode(), trace_inference("batch", model=model, profile=True):
        model(torch.randn(2, 4))
    block = traced.one("inference batch")
    assert is_child(traced.one("forward clf"), block)
    a = attrs(block)
    assert a["ml.profile.cpu_time_us"] > 0
    assert json.loads(a["ml.profile.top_ops"])


def test_training_steps(traced: Recorded) -> None:
    model = tiny()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(2):
        with trace_training_step(model, optimizer, step=step) as traced_step:
            optimizer.zero_grad()
            loss = model(torch.randn(5, 4)).pow(2).mean()
            loss.backward()
            traced_step.record(loss, accuracy=0.5)
            optimizer.step()
    first, second = traced.named("train_step")
    a = attrs(first)
    assert a["ml.training.step"] == 0 and attrs(second)["ml.training.step"] == 1
    assert a["ml.training.loss"] > 0
    assert a["ml.training.learning_rate"] == 0.1
    assert a["ml.grad_norm.total"] > 0 and a["ml.grad_norm.parameters"] == 4
    assert a["ml.training.accuracy"] == 0.5
