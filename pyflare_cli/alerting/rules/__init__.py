"""Alert rules: the rule model, reading rule files with file and line, annotation templates."""
