"""`pyflare bench`: suites of timed real runs, the machine they ran on, the regression gate."""
