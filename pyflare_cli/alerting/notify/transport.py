"""Posting notifications over HTTP, with retries that respect the receiver.

Each request is retried on timeouts, connection errors, 429 and 5xx with exponential
backoff (0.5 s, 1 s, 2 s, or ``Retry-After`` up to 30 s); other client errors are final.
Once a target has failed after its retries, it is *down* for the rest of the call: its
later payloads are not tried, so one dead receiver costs one timeout per run, not one per
group. The sleeps are injectable, so tests wait for nothing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import httpx

from pyflare_cli import __version__
from pyflare_cli.alerting.notify.payloads import JSON
from pyflare_cli.alerting.notify.targets import Target

BACKOFF_START = 0.5
RETRY_AFTER_CAP = 30.0


@dataclass(frozen=True)
class Outcome:
    """One payload's fate: sent or not, after how many attempts, and whether to queue it."""

    ok: bool
    attempts: int
    detail: str
    retryable: bool


@dataclass(frozen=True)
class Sent:
    """Several payloads' fate: how many were sent, and the ones left to queue."""

    sent: int
    left: list[JSON]
    attempts: int
    detail: str


def backoff(attempt: int) -> float:
    """Seconds to wait after failed attempt ``attempt`` (0-based): 0.5, 1, 2, ..."""
    return float(BACKOFF_START * 2**attempt)


def retry_after(response: httpx.Response) -> float | None:
    """The response's ``Retry-After`` in seconds (capped), None when absent or a date."""
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None  # absent, or an HTTP date: use the backoff
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


def sent_status(result: Sent) -> Literal["sent", "failed", "skipped"]:
    """``sent`` when nothing is left, ``failed`` when tried, ``skipped`` when never tried."""
    if not result.left:
        return "sent"
    return "failed" if result.attempts else "skipped"


class Transport:
    """An HTTP client (made here unless given) and the retry policy of the module doc."""

    def __init__(
        self, client: httpx.Client | None = None, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._own_client = client is None
        self._client = client or httpx.Client(headers={"User-Agent": f"pyflare/{__version__}"})
        self._sleep = sleep

    def close(self) -> None:
        if self._own_client:
            self._client.close()

    def post(self, target: Target, payload: JSON) -> Outcome:
        """POST with retries on timeouts, connection errors, 429 and 5xx (see module doc)."""
        detail, body, delay = "", "", 0.0
        for attempt in range(target.retries + 1):
            if attempt:
                self._sleep(delay)
            try:
                response = self._client.post(
                    target.url, json=payload, headers=target.headers, timeout=target.timeout
                )
            except httpx.TimeoutException as exc:
                body = ""
                detail = f"timed out after {target.timeout:g}s ({type(exc).__name__})"
                delay = backoff(attempt)
                continue
            except httpx.TransportError as exc:
                text = str(exc).replace(target.url, f"<{target.name} url>")
                body = ""
                detail = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
                delay = backoff(attempt)
                continue
            code = response.status_code
            if 200 <= code < 300:
                return Outcome(True, attempt + 1, f"HTTP {code}", False)
            body = " ".join(response.text.split())[:200]
            detail = f"HTTP {code}"
            if code != 429 and code < 500:
                return Outcome(False, attempt + 1, detail + (f": {body}" if body else ""), False)
            wait = retry_after(response)
            delay = backoff(attempt) if wait is None else wait
        attempts = target.retries + 1
        plural = "s" if attempts > 1 else ""
        detail = f"{detail} after {attempts} attempt{plural}" + (f": {body}" if body else "")
        return Outcome(False, attempts, detail, True)

    def send(self, target: Target, payloads: list[JSON], down: dict[str, str]) -> Sent:
        """Post each payload; after a retryable failure the target is down for this call."""
        sent, attempts, left = 0, 0, list[JSON]()
        ok_detail, failure = "", ""
        for index, payload in enumerate(payloads):
            if target.name in down:
                left.extend(payloads[index:])
                if not failure:
                    failure = f"not attempted: {target.name} failed earlier ({down[target.name]})"
                break
            outcome = self.post(target, payload)
            attempts += outcome.attempts
            if outcome.ok:
                sent, ok_detail = sent + 1, outcome.detail
                continue
            left.append(payload)
            failure = outcome.detail
            if outcome.retryable:
                down[target.name] = outcome.detail
        if not left:
            detail = ok_detail if len(payloads) == 1 else f"{sent} requests, {ok_detail}"
        else:
            detail = f"{sent} of {len(payloads)} sent; {failure}" if sent else failure
        return Sent(sent, left, attempts, detail)
