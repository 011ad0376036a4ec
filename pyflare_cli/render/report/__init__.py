"""Draw a :class:`report.model.Report`: SVG charts (vl-convert), HTML and Markdown pages
(Jinja2 templates, package resources under ``templates/``), PDF (Chromium's print)."""
