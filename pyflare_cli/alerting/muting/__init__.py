"""What keeps an alert quiet without changing it: matchers, silences, maintenance, inhibition."""
