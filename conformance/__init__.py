"""The IMPlus conformance suite: a hypothesis state machine of simulated clients against a live
server on its own exchange. `implus-conformance --help`; in Python:

    from conformance import SuiteConfig, run_suite
    report = run_suite(SuiteConfig(exchange="my-exchange", seed=1))

Imports are lazy so that sibling modules (conformance.validate) do not pull in hypothesis.
"""
from __future__ import annotations

from typing import Any

__all__ = ["CHECKS", "Check", "Report", "SuiteConfig", "run_suite"]


def __getattr__(name: str) -> Any:
    if name in ("CHECKS", "Check"):
        from . import checks
        return getattr(checks, name)
    if name in ("Report", "SuiteConfig", "run_suite"):
        from . import runner
        return getattr(runner, name)
    raise AttributeError(name)
