"""Annotation templates: placeholders, filters, and what is refused."""

from __future__ import annotations

from pyflare_cli.alerting.rules.templating import check_template, render


def test_templates() -> None:
    labels = {"model": "gpt-4o"}
    assert render("{{ $labels.model }}: {{ $value | percent }}", labels, 0.123) == "gpt-4o: 12.3%"
    assert render("{{$value|duration}}", labels, 1500.0) == "1.50s"
    assert render("{{ $value | humanize }}", labels, 12_345.0) == "12.3k"
    assert render("{{ $value }} {{ $labels.missing }}!", labels, None) == "n/a !"
    assert check_template("{{ $value | round }}") is None
    assert check_template("{{ .Value }}") is not None
    assert check_template("{{ $value ") is not None
