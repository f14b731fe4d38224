"""Hypothesis profiles for the fuzz run (issue 10): `ci` (default) fits well inside a minute; `long` is the
run for a quiet machine: `HYPOTHESIS_PROFILE=long .venv/bin/python -m pytest tests/fuzz -q`."""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, settings

# Corpus seeds are large inputs and some take a second to parse on a loaded machine: neither is the finding.
_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]

# The deadline catches a mutation that makes one example take minutes (a hang), not a slow CI machine.
settings.register_profile("ci", max_examples=150, deadline=timedelta(seconds=20), suppress_health_check=_QUIET,
                          derandomize=False, print_blob=True)  # fmt: skip
settings.register_profile("long", max_examples=20_000, deadline=timedelta(seconds=20), suppress_health_check=_QUIET,
                          print_blob=True)  # fmt: skip
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
