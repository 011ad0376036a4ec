"""PyTorch: spans for forward passes, inference blocks and training steps.

No maintained OpenTelemetry instrumentation for PyTorch exists, so this is pyflare's own,
kept explicit (a model is instrumented when asked, nothing is patched globally):

- :func:`instrument_model` wraps ``model.forward``: one ``forward <name>`` span per call with
  the model class, parameter count, input and output shapes and dtypes, device, batch size
  and, on CUDA, the peak memory allocated during the call.
- :func:`trace_inference`: a span around an inference block, optionally with a
  ``torch.profiler`` summary (total CPU and CUDA time, the top operators).
- :func:`trace_training_step`: a span per step with loss, gradient-norm statistics
  (total, max, mean, non-finite count) and the learning rates.

Attribute names are ``ml.*``: OTel has no convention for model inference or training.
``torch`` is imported when these are first called, with a clear message when missing.
"""

from __future__ import annotations

import functools
import importlib
import json
import math
import resource
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry.trace import Span
from opentelemetry.util.types import AttributeValue

from pyflare import spans

SCOPE = "pyflare.torch"
MAX_TENSORS = 16


def _torch() -> Any:
    try:
        return importlib.import_module("torch")  # typed Any: torch is an optional extra
    except ImportError:
        raise ImportError("pyflare.torch needs PyTorch: pip install 'pyflare-sdk[torch]'") from None


def _tensors(value: Any, out: list[Any], depth: int = 0) -> list[Any]:
    """The tensors in ``value`` (nested tuples, lists, dicts), at most :data:`MAX_TENSORS`."""
    torch = _torch()
    if len(out) >= MAX_TENSORS or depth > 4:
        return out
    if isinstance(value, torch.Tensor):
        out.append(value)
    elif isinstance(value, list | tuple):
        for item in value:
            _tensors(item, out, depth + 1)
    elif isinstance(value, dict):
        for item in value.values():
            _tensors(item, out, depth + 1)
    return out


def tensor_attributes(prefix: str, value: Any) -> dict[str, AttributeValue]:
    """``<prefix>.shapes`` and ``<prefix>.dtypes`` (JSON lists) of the tensors in ``value``."""
    found = _tensors(value, [])
    if not found:
        return {}
    return {
        f"{prefix}.shapes": json.dumps([list(t.shape) for t in found]),
        f"{prefix}.dtypes": json.dumps([str(t.dtype).removeprefix("torch.") for t in found]),
    }


def parameter_count(model: Any) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def _device(model: Any, inputs: list[Any]) -> str | None:
    if inputs:
        return str(inputs[0].device)
    for parameter in model.parameters():
        return str(parameter.device)
    return None


def _cuda_device(device: str | None) -> Any:
    torch = _torch()
    if device is None or not device.startswith("cuda") or not torch.cuda.is_available():
        return None
    return torch.device(device)


def _cpu_peak_bytes() -> int:
    """The process's peak resident memory (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def instrument_model(model: Any, name: str | None = None, *, capture_shapes: bool = True) -> Any:
    """Trace every forward pass of ``model`` (returned, instrumented in place; once)."""
    if getattr(model, "_pyflare_forward", None) is not None:
        return model
    original = model.forward
    label = name or type(model).__name__
    static: dict[str, AttributeValue] = {
        "ml.framework": "pytorch",
        "ml.model.name": label,
        "ml.model.class": f"{type(model).__module__}.{type(model).__qualname__}",
        "ml.model.parameters": parameter_count(model),
    }

    @functools.wraps(original)
    def forward(*args: Any, **kwargs: Any) -> Any:
        torch = _torch()
        inputs = _tensors([args, kwargs], [])
        device = _device(model, inputs)
        attributes = dict(static)
        attributes["ml.training"] = bool(model.training)
        if device is not None:
            attributes["ml.device"] = device
        if inputs and inputs[0].dim() > 0:
            attributes["ml.batch_size"] = int(inputs[0].shape[0])
        if capture_shapes:
            attributes.update(tensor_attributes("ml.input", [args, kwargs]))
        cuda = _cuda_device(device)
        if cuda is not None:
            torch.cuda.reset_peak_memory_stats(cuda)
        with spans.span(f"forward {label}", attributes=attributes) as span:
            output = original(*args, **kwargs)
            if capture_shapes:
                span.set_attributes(tensor_attributes("ml.output", output))
            if cuda is not None:
                torch.cuda.synchronize(cuda)
                span.set_attribute(
                    "ml.memory.peak_bytes", int(torch.cuda.max_memory_allocated(cuda))
                )
            else:
                span.set_attribute("ml.memory.process_peak_bytes", _cpu_peak_bytes())
            return output

    model._pyflare_forward = original
    model.forward = forward
    return model


def uninstrument_model(model: Any) -> Any:
    """Undo :func:`instrument_model`."""
    original = getattr(model, "_pyflare_forward", None)
    if original is not None:
        model.forward = original
        model._pyflare_forward = None
    return model


def _profile_summary(profiler: Any, top: int) -> dict[str, AttributeValue]:
    averages = profiler.key_averages()
    cpu = sum(getattr(e, "self_cpu_time_total", 0) for e in averages)
    name = "self_device_time_total"  # torch < 2.4: self_cuda_time_total
    if averages and not hasattr(averages[0], name):
        name = "self_cuda_time_total"
    device = sum(getattr(e, name, 0) or 0 for e in averages)
    ranked = sorted(averages, key=lambda e: getattr(e, "self_cpu_time_total", 0), reverse=True)
    ops = [
        {"op": e.key, "calls": e.count, "self_cpu_us": round(e.self_cpu_time_total, 1)}
        for e in ranked[:top]
    ]
    return {
        "ml.profile.cpu_time_us": float(cpu),
        "ml.profile.cuda_time_us": float(device),
        "ml.profile.top_ops": json.dumps(ops),
    }


@contextmanager
def trace_inference(
    name: str = "inference", *, model: Any = None, profile: bool = False, top_ops: int = 10
) -> Iterator[Span]:
    """A span around an inference block; ``profile=True`` adds a ``torch.profiler`` summary."""
    torch = _torch()
    attributes: dict[str, AttributeValue] = {"ml.framework": "pytorch"}
    if model is not None:
        attributes["ml.model.class"] = type(model).__qualname__
        attributes["ml.model.parameters"] = parameter_count(model)
    with spans.span(f"inference {name}", attributes=attributes) as span:
        if not profile:
            yield span
            return
        activities = [torch.profiler.ProfilerActivity.CPU]
        if torch.cuda.is_available():
            activities.append(torch.profiler.ProfilerActivity.CUDA)
        with torch.profiler.profile(activities=activities) as profiler:
            yield span
        span.set_attributes(_profile_summary(profiler, top_ops))


class TrainingStep:
    """What :func:`trace_training_step` yields: record the loss (and gradients) on it."""

    def __init__(self, span: Span, model: Any, optimizer: Any) -> None:
        self.span = span
        self.model = model
        self.optimizer = optimizer
        self.gradients_recorded = False

    def record(self, loss: Any = None, **metrics: float) -> None:
        """Record the loss, other metrics (``accuracy=...``), and the gradients if present."""
        if loss is not None:
            self.span.set_attribute("ml.training.loss", float(loss))
        for key, value in metrics.items():
            self.span.set_attribute(f"ml.training.{key}", float(value))
        self.record_gradients()

    def record_gradients(self) -> None:
        """Gradient-norm statistics of the model's parameters (call after ``backward``)."""
        if self.model is None or self.gradients_recorded:
            return
        norms = [
            float(p.grad.detach().norm(2)) for p in self.model.parameters() if p.grad is not None
        ]
        if not norms:
            return
        finite = [n for n in norms if math.isfinite(n)]
        self.span.set_attributes(
            {
                "ml.grad_norm.total": math.sqrt(sum(n * n for n in finite)),
                "ml.grad_norm.max": max(finite, default=0.0),
                "ml.grad_norm.mean": sum(finite) / len(finite) if finite else 0.0,
                "ml.grad_norm.nonfinite": len(norms) - len(finite),
                "ml.grad_norm.parameters": len(norms),
            }
        )
        self.gradients_recorded = True


@contextmanager
def trace_training_step(
    model: Any = None, optimizer: Any = None, *, step: int | None = None, epoch: int | None = None
) -> Iterator[TrainingStep]:
    """A ``train_step`` span: ``with trace_training_step(model, opt, step=i) as s: ...``.

    Call ``s.record(loss)`` after ``loss.backward()`` (gradients are read then, before
    ``zero_grad``); at the end the learning rates of ``optimizer`` are recorded.
    """
    attributes: dict[str, AttributeValue] = {"ml.framework": "pytorch", "ml.training": True}
    if step is not None:
        attributes["ml.training.step"] = step
    if epoch is not None:
        attributes["ml.training.epoch"] = epoch
    if model is not None:
        attributes["ml.model.class"] = type(model).__qualname__
    with spans.span("train_step", attributes=attributes) as span:
        recorder = TrainingStep(span, model, optimizer)
        yield recorder
        recorder.record_gradients()
        if optimizer is not None:
            rates = [float(g["lr"]) for g in optimizer.param_groups if "lr" in g]
            if rates:
                span.set_attribute("ml.training.learning_rate", rates[0])
            if len(rates) > 1:
                span.set_attribute("ml.training.learning_rates", rates)
