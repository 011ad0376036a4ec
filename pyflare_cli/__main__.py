"""Allow `python -m pyflare_cli`."""

from pyflare_cli.main import run

run()
