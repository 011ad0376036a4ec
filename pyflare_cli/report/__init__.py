"""``pyflare report``: the figures of every command gathered into one report model (pure data).

Each section module asks the same query and analysis functions as its command; the model
(:mod:`report.model`) is then drawn by :mod:`render.report` as HTML, Markdown or PDF.
"""
