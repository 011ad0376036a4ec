"""``instrument=["torch"]``: checks that PyTorch is importable; models are opted in one by one.

Patching every ``nn.Module`` would trace each layer of each model; instead, wrap the models
that matter with :func:`pyflare.torch.instrument_model` and the loops with
:func:`pyflare.torch.trace_inference` / :func:`pyflare.torch.trace_training_step`.
"""

from __future__ import annotations

import importlib


def instrument() -> None:
    """Fail now, naming the extra to install, rather than at the first traced model."""
    try:
        importlib.import_module("torch")
    except ImportError:
        raise ImportError(
            "pyflare: instrument='torch' needs PyTorch: pip install 'pyflare-sdk[torch]'"
        ) from None


def uninstrument() -> None:
    pass
