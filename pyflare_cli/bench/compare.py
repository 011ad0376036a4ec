"""The regression gate: is a run worse than a baseline, beyond chance and the allowance?

A figure regresses when its median moved in the bad direction by more than the allowed
ratio (``--max-regression``, 10% by default) *plus* the noise of both runs: the larger of
the two spreads (max - min over the repeats), relative to the baseline median. So a noisy
figure needs a bigger move to fail the gate, and a run with one repeat is judged on the
allowance alone. Figures only in one of the files are listed, never failed. Runs of
different span counts, seeds or machine classes (CPU model, cores) are refused (exit 2).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyflare_cli.bench.figures import Figure
from pyflare_cli.errors import UsageError


@dataclass(frozen=True)
class Comparison:
    key: str
    unit: str
    baseline: float
    current: float
    change: float  # relative, positive = worse
    allowed: float  # relative: the allowance plus the noise
    regressed: bool


MACHINE_CLASS = ("cpu", "cores")
"""What makes two machines comparable: the CPU model and the number of cores."""


def _read(path: Path) -> Any:
    """The JSON of a ``--compare`` file; exit 2 naming it when it is missing or not JSON."""
    try:
        data: Any = json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"--compare {path}: no such file") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"--compare {path}: not a pyflare bench result ({exc})") from None
    return data


def load_run(path: Path) -> dict[str, Any]:
    """The run a results file describes: its ``spans``, ``seed`` and ``machine``."""
    data = _read(path)
    return data if isinstance(data, dict) else {}


def check_comparable(path: Path, spans: int, seed: int, machine: dict[str, Any]) -> None:
    """Exit 2 unless the baseline ran on as many spans, the same seed and machine class.

    A figure measured on 100k spans against one on 1M, or on another CPU, is no baseline:
    the gate would pass or fail on the difference of the runs, not of the code.
    """
    run = load_run(path)
    found = run.get("machine")
    theirs: dict[str, Any] = found if isinstance(found, dict) else {}
    pairs = [
        ("span count", run.get("spans"), spans, "--spans"),
        ("seed", run.get("seed"), seed, "--seed"),
        *(
            (f"machine {key}", theirs.get(key), machine.get(key), "another machine")
            for key in MACHINE_CLASS
        ),
    ]
    for what, before, now, hint in pairs:
        if before != now:
            raise UsageError(
                f"--compare {path}: its {what} is {before!r}, this run's {now!r}; "
                f"compare runs of the same span count, seed and machine class ({hint})"
            )


def load_results(path: Path) -> list[Figure]:
    data = _read(path)
    if not isinstance(data, dict) or not isinstance(data.get("figures"), list):
        raise UsageError(f"--compare {path}: not a pyflare bench result (no figures)")
    try:
        return [Figure.from_dict(item) for item in data["figures"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"--compare {path}: a figure is malformed ({exc})") from None


def parse_ratio(text: str) -> float:
    """``10%`` or ``0.1`` as 0.1."""
    value = text.strip()
    try:
        ratio = float(value[:-1]) / 100 if value.endswith("%") else float(value)
    except ValueError:
        raise UsageError(f"--max-regression {text!r}: use a percentage such as 10%") from None
    if ratio < 0:
        raise UsageError(f"--max-regression {text!r} must not be negative")
    return ratio


def compare(
    baseline: list[Figure], current: list[Figure], max_regression: float
) -> tuple[list[Comparison], list[str], list[str]]:
    """Comparisons of the common figures, and the keys only in the baseline / the run."""
    before = {f.key: f for f in baseline}
    now = {f.key: f for f in current}
    out = []
    for key in [k for k in now if k in before]:
        old, new = before[key], now[key]
        if old.median == 0 or old.median != old.median or new.median != new.median:
            continue
        moved = (new.median - old.median) / abs(old.median)
        worse = moved if new.better == "lower" else -moved
        noise = max(old.spread, new.spread) / abs(old.median)
        allowed = max_regression + noise
        out.append(
            Comparison(key, new.unit, old.median, new.median, worse, allowed, worse > allowed)
        )
    only_before = sorted(set(before) - set(now))
    only_now = sorted(set(now) - set(before))
    return out, only_before, only_now
