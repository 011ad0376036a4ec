"""Everything about a rule file that ``alert check`` would refuse, checked before it runs.

:mod:`alerting.rules.parse` checks each rule; this adds what needs more than the rule file alone:
the notification targets (type, URL, routing key, ``${VAR}`` secrets), maintenance
windows, inhibition rules, and the budgets that ``budget:`` conditions name, which live in
pyflare.yaml. ``pyflare alert rules`` runs it, so a CI job finds the mistake before the
first evaluation does, and ``alert check`` runs it before it touches the alert states.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyflare_cli.alerting.rules.model import BudgetCondition, RuleFile
from pyflare_cli.analysis.cost.budgets import Budget
from pyflare_cli.errors import UsageError


def lint_rule_file(rule_file: RuleFile, budgets: Sequence[Budget], targets: bool = True) -> None:
    """Raise :class:`UsageError` (exit 2) naming the file, the key and the reason.

    ``targets=False`` leaves the notification targets out (``--no-notify`` sends nothing,
    so a secret missing from the environment must not stop it).
    """
    from pyflare_cli.alerting.muting.inhibition import parse_inhibit_rules
    from pyflare_cli.alerting.muting.maintenance import parse_maintenance
    from pyflare_cli.alerting.notify.targets import parse_targets

    where = str(rule_file.path)
    if targets:
        parse_targets(rule_file.notifications, f"{where}: notifications")
    parse_maintenance(rule_file.maintenance or [], f"{where}: maintenance")
    parse_inhibit_rules(rule_file.inhibit_rules, f"{where}: inhibit_rules")
    known = [b.name for b in budgets]
    for rule in rule_file.rules:
        condition = rule.condition
        if isinstance(condition, BudgetCondition) and condition.name not in known:
            names = ", ".join(known) if known else "none are configured"
            raise UsageError(
                f"{rule.source}: alert {rule.name!r}: budget {condition.name!r} is not in "
                f"pyflare.yaml (budgets: {names})"
            )
