"""The IMPlus conformance suite: a hypothesis state machine of simulated clients against a live
server on its own exchange, and a scripted fake server for checking clients. `implus-conformance --help`;
in Python:

    from conformance import SuiteConfig, run_suite
    report = run_suite(SuiteConfig(exchange="my-exchange", seed=1))              # a running server
    report = run_suite(SuiteConfig(exchange="x", server_cmd="my-server --exchange {exchange}"))
    report = run_suite(SuiteConfig(exchange="x", replay=load_failure("implus-failure-1.json")))

    from conformance import ClientConfig, run_client_suite
    report = run_client_suite(ClientConfig(client_cmd="my-client --exchange {exchange}"))

    from conformance.report import summary; print(summary(report))

Failures quote their requirement from SPEC.md (conformance.requirements); pytest users can load
conformance.pytest_plugin. Imports are lazy so that sibling modules (conformance.validate) do not
pull in hypothesis.
"""
from __future__ import annotations

from typing import Any

__all__ = ["CHECKS", "CLIENT_CHECKS", "Check", "ClientConfig", "Report", "SuiteConfig", "load_failure",
           "run_client_suite", "run_suite"]


def __getattr__(name: str) -> Any:
    if name in ("CHECKS", "CLIENT_CHECKS", "Check"):
        from . import checks
        return getattr(checks, name)
    if name in ("Report", "SuiteConfig", "run_suite", "load_failure"):
        from . import runner
        return getattr(runner, name)
    if name in ("ClientConfig", "run_client_suite"):
        from . import client_suite
        return getattr(client_suite, name)
    raise AttributeError(name)
