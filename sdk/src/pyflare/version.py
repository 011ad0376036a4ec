"""The version of pyflare-sdk, in one place (read by hatch and by the tracers' scope)."""

__version__ = "0.1.0"
