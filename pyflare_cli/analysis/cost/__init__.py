"""Cost: prices and their rules, each span's exact cost, spend reports, budgets, forecasts."""
