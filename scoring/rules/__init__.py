"""The rule language and the engine: scheme files, periods, rounding and the scoring itself."""
