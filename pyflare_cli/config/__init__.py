"""``pyflare.yaml``: loading the file, with one module per section and their shared checks."""
