"""The report of a rule test run: one line per test, and each failing check with its diff."""

from __future__ import annotations

from collections.abc import Sequence

from pyflare_cli.alerting.rule_tests.run import CheckResult


def report_lines(results: Sequence[CheckResult]) -> list[str]:
    """A readable report: one line per test, and each failing check with its diff."""
    lines: list[str] = []
    by_test: dict[str, list[CheckResult]] = {}
    for result in results:
        by_test.setdefault(result.test, []).append(result)
    for name, checks in by_test.items():
        failed = [c for c in checks if not c.passed]
        if not failed:
            lines.append(f"PASS  {name} ({len(checks)} checks)")
            continue
        lines.append(f"FAIL  {name} ({len(failed)} of {len(checks)} checks failed)")
        for check in failed:
            moment = f" ({check.time:%Y-%m-%dT%H:%M:%SZ})" if check.time else ""
            lines.append(f"  at {check.at}{moment}, {check.source}:")
            lines += [f"    {line}" for line in check.diff]
    if any(not r.passed for r in results):
        lines.append("(- expected but not there, + there but not expected, ~ there but different)")
    return lines


def summary(results: Sequence[CheckResult]) -> str:
    """``2 of 9 checks failed in 1 of 5 tests: name`` or ``9 checks of 5 tests passed``."""
    tests = list(dict.fromkeys(r.test for r in results))
    failed_tests = list(dict.fromkeys(r.test for r in results if not r.passed))
    failed = sum(not r.passed for r in results)
    if not failed:
        return f"all {len(results)} checks of {len(tests)} tests passed"
    return (
        f"{failed} of {len(results)} checks failed in {len(failed_tests)} of {len(tests)} "
        f"tests: {'; '.join(failed_tests)}"
    )
