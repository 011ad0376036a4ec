"""``pyflare.yaml``: where it is found, what it holds, and errors that point at the problem."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pyflare_cli.analysis.cost.budgets import Budget
from pyflare_cli.config.file import CONFIG_ENV, Config, load_config
from pyflare_cli.errors import UsageError
from pyflare_cli.ingest.redaction import RedactionConfig
from pyflare_cli.ingest.sampling import SamplingConfig, SamplingRule

GOOD = """\
redaction:
  mode: hash
  kinds: [email, phone]
  salt: s3
saved_queries:
  slow: "duration:>2s"
alerts:
  - name: errors
"""


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.chdir(tmp_path)


def write(tmp_path: Path, text: str, name: str = "pyflare.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_no_default_file_means_no_configuration() -> None:
    assert load_config(None) == Config()


def test_default_file_in_the_working_folder(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    config = load_config(None)
    assert config.path == Path("pyflare.yaml")
    assert config.redaction == RedactionConfig(
        modes={"email": "hash", "phone": "hash"}, attributes=(), salt="s3"
    )
    assert config.saved_queries == {"slow": "duration:>2s"}
    assert config.raw["alerts"] == [{"name": "errors"}]  # kept for the commands that own it


def test_option_beats_environment_beats_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "saved_queries: {q: default}\n")
    env = write(tmp_path, "saved_queries: {q: env}\n", "env.yaml")
    option = write(tmp_path, "saved_queries: {q: option}\n", "option.yaml")
    monkeypatch.setenv(CONFIG_ENV, str(env))
    assert load_config(None).saved_queries == {"q": "env"}
    assert load_config(option).saved_queries == {"q": "option"}
    assert load_config(str(option)).path == option


def test_explicit_missing_file_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match=r"^config file nope\.yaml does not exist$"):
        load_config("nope.yaml")
    monkeypatch.setenv(CONFIG_ENV, "from-env.yaml")
    with pytest.raises(UsageError, match=r"from-env\.yaml does not exist"):
        load_config(None)


def test_empty_file_is_an_empty_configuration(tmp_path: Path) -> None:
    path = write(tmp_path, "# nothing yet\n")
    config = load_config(path)
    assert (config.path, config.redaction, config.saved_queries, config.raw) == (path, None, {}, {})


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("redaction:\n  mode: [mask\n", ":3:1"),
        ("a: 1\nb: 2\n  c: 3\n", ":3:4"),
        ('saved_queries:\n  q: "unterminated\n', ":3:1"),
        ("key: value\n\t- tab\n", ":2:1"),
    ],
)
def test_bad_yaml_names_file_and_line(tmp_path: Path, text: str, where: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(UsageError) as caught:
        load_config(path)
    message = caught.value.message
    assert message.startswith(f"{path}{where}: invalid YAML (")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n- b\n", "the top level must be a mapping"),
        ("just text\n", "the top level must be a mapping"),
        ("saved_queries: [a, b]\n", "saved_queries must map names to query strings"),
        ("saved_queries: {q: 3}\n", "saved_queries must map names to query strings"),
        ("redaction: {mode: shred}\n", "redaction.mode 'shred' is not one of mask, hash, drop"),
        ("redaction: {kinds: [ssn]}\n", "redaction.kinds: unknown kind 'ssn'"),
        ("sampling: {ratio: 2}\n", "sampling.ratio must be a number from 0 to 1, not 2"),
        (
            "sampling:\n  rules:\n    - {service: api, ratio: 0.1}\n    - {ratio: 0}\n",
            "sampling.rules[1] needs at least one of service, name, attributes",
        ),
        (
            "budgets:\n  - {name: d, period: year, limit_usd: 5}\n",
            "budgets[0].period 'year' is not one of day, week, month",
        ),
    ],
)
def test_invalid_content_names_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(UsageError, match="^" + re.escape(f"{path}: {message}")):
        load_config(path)


def test_redaction_disabled(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "redaction: false\n")).redaction is None
    assert load_config(write(tmp_path, "redaction:\n")).redaction is None


def test_sampling_section(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
sampling:
  ratio: 0.5
  rules:
    - service: chat-*
      ratio: 0.1
    - attributes: {http.route: /healthz, http.response.status_code: 200}
      ratio: 0
""",
    )
    assert load_config(path).sampling == SamplingConfig(
        ratio=0.5,
        keep_errors=True,
        rules=(
            SamplingRule(ratio=0.1, service="chat-*"),
            SamplingRule(
                ratio=0.0,
                attributes=(("http.route", "/healthz"), ("http.response.status_code", "200")),
            ),
        ),
    )
    assert load_config(write(tmp_path, "sampling: false\n")).sampling is None
    assert load_config(write(tmp_path, "redaction: {}\n")).sampling is None


def test_budgets_section(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
budgets:
  - name: monthly-total
    period: month
    limit_usd: 500
  - name: gpt-4o-daily
    where: "model:gpt-4o*"
    period: day
    limit_usd: 20
    timezone: Europe/Paris
""",
    )
    assert load_config(path).budgets == (
        Budget(name="monthly-total", period="month", limit_micros=500_000_000),
        Budget(
            name="gpt-4o-daily",
            period="day",
            limit_micros=20_000_000,
            where="model:gpt-4o*",
            timezone="Europe/Paris",
        ),
    )
    assert load_config(write(tmp_path, "redaction: {}\n")).budgets == ()
