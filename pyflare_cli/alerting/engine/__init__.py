"""Alert evaluation, pure: measures over windows, conditions into samples, the state machine."""
