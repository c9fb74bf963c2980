"""pytest plugin: run the IMPlus conformance suite inside a project's own pytest run.

    pytest -p conformance.pytest_plugin --implus-exchange X [--implus-seed N] [--implus-server-cmd CMD]
    pytest -p conformance.pytest_plugin --implus-client-cmd CMD [--implus-client-send-cmd CMD]

With one of those options, the session gets one test item per check (`implus-conformance::<check>`,
marked `implus_conformance`): the suite runs once, when the first of them runs, and each item
passes, fails (with the requirement quoted from SPEC.md, what was expected and what arrived, the
steps and the replay command) or is skipped (with the reason). `-k`, `-m` and JUnit XML apply as
to any test. The suite's own summary, with the requirement coverage, ends the terminal report.

For tests of one's own, the fixture `implus_conformance` runs the suite with keyword settings:

    def test_my_server(implus_conformance):
        report = implus_conformance(exchange="mine", seed=1, max_examples=5)
        assert report.passed, report.text
"""
from __future__ import annotations

from typing import Any, Callable

import pytest

from .checks import CHECKS, CLIENT_CHECKS, FAIL, NON_STRICT, SKIP, Check

_REPORT = pytest.StashKey[Any]()
_ERROR = pytest.StashKey[Any]()


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("implus", "IMPlus conformance suite")
    g.addoption("--implus-exchange", help="run the conformance suite against the server serving this exchange")
    g.addoption("--implus-amqp-url", default=None, help="RabbitMQ URL (default: env IMPLUS_AMQP_URL or localhost)")
    g.addoption("--implus-seed", type=int, default=None, help="hypothesis seed (default random)")
    g.addoption("--implus-max-examples", type=int, default=10, help="hypothesis examples (default 10)")
    g.addoption("--implus-max-steps", type=int, default=15, help="steps per example (default 15)")
    g.addoption("--implus-timeout", type=float, default=3.0, help="seconds to wait for what must arrive")
    g.addoption("--implus-server-cmd", default=None,
                help="start the server under test with this shell command ({exchange} replaced)")
    g.addoption("--implus-client-cmd", default=None, help="check a client started with this shell command")
    g.addoption("--implus-client-send-cmd", default=None, help="client mode: a command that sends {text} to {peer}")
    g.addoption("--implus-strict", action="store_true", help="SHOULD checks count too")
    g.addoption("--implus-replay", default=None, help="rerun the steps of a saved failure file")
    g.addoption("--implus-save-failure", default=None, metavar="FILE",
                help="save the failing step sequence for implus-conformance --replay")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "implus_conformance: one check of the IMPlus conformance suite")


def _mode(config: pytest.Config) -> str | None:
    if config.getoption("--implus-client-cmd"):
        return "client"
    if config.getoption("--implus-exchange") or config.getoption("--implus-server-cmd"):
        return "server"
    return None


class CheckFailed(Exception):
    """A conformance check failed; the text is the suite's report of it."""


class ConformanceItem(pytest.Item):
    def __init__(self, *, check: Check, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.add_marker(pytest.mark.implus_conformance)

    def runtest(self) -> None:
        report = _run(self.config)
        from .report import failure_block

        result = next(r for r in report.results if r.check.id == self.check.id)
        if result.grade == FAIL:
            text = "\n".join(failure_block(result, report, None))
            raise CheckFailed(text + "\n  replay: " + report.replay_command())
        if report.error:
            raise CheckFailed(f"the suite could not run: {report.error}")
        if result.grade == SKIP:
            pytest.skip(f"{self.check.id} [{self.check.requirement}]: {result.reason}")
        if result.grade == NON_STRICT:
            import warnings

            warnings.warn(f"{self.check.id} [{self.check.requirement}] ({self.check.level}): {result.evidence}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, CheckFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[str, int | None, str]:
        return "implus-conformance", None, f"{self.check.id} [{self.check.requirement}] {self.check.title}"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    mode = _mode(config)
    if mode is None:
        return
    checks = CLIENT_CHECKS if mode == "client" else CHECKS
    for c in checks:
        items.append(ConformanceItem.from_parent(session, name=f"implus-conformance::{c.id}",
                                                 nodeid=f"implus-conformance::{c.id}", check=c))


def _run(config: pytest.Config) -> Any:
    if _REPORT in config.stash:
        return config.stash[_REPORT]
    o = config.getoption
    from .runner import DEFAULT_AMQP_URL, DEFAULT_EXCHANGE

    amqp = o("--implus-amqp-url") or DEFAULT_AMQP_URL
    if _mode(config) == "client":
        from .client_suite import ClientConfig, run_client_suite

        report = run_client_suite(ClientConfig(client_cmd=o("--implus-client-cmd"), send_cmd=o("--implus-client-send-cmd"),
                                               amqp_url=amqp, exchange=o("--implus-exchange"),
                                               timeout=o("--implus-timeout"), strict=o("--implus-strict")))
    else:
        from .runner import SuiteConfig, load_failure, run_suite

        replay = load_failure(o("--implus-replay")) if o("--implus-replay") else None
        report = run_suite(SuiteConfig(amqp_url=amqp, exchange=o("--implus-exchange") or DEFAULT_EXCHANGE,
                                       seed=o("--implus-seed"), max_examples=o("--implus-max-examples"),
                                       max_steps=o("--implus-max-steps"), timeout=o("--implus-timeout"),
                                       strict=o("--implus-strict"), server_cmd=o("--implus-server-cmd"),
                                       replay=replay))
        if o("--implus-save-failure"):
            from .report import save_failure

            save_failure(report, o("--implus-save-failure"))
    config.stash[_REPORT] = report
    return report


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    report = config.stash.get(_REPORT, None)
    if report is None:
        return
    from .report import summary

    terminalreporter.section("IMPlus conformance suite")
    terminalreporter.write_line(summary(report))


@pytest.fixture
def implus_conformance() -> Callable[..., Any]:
    """run(**SuiteConfig fields) -> Report, with `.text` the readable summary."""
    from .report import summary
    from .runner import SuiteConfig, run_suite

    def run(**kwargs: Any) -> Any:
        report = run_suite(SuiteConfig(**kwargs))
        report.text = summary(report)
        return report

    return run
