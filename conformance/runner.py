"""Run the conformance suite against whatever server consumes on an exchange.

    from conformance import SuiteConfig, run_suite
    report = run_suite(SuiteConfig(exchange="implus-mine", seed=1))
    report.passed, report.failed_requirements()

The exchange must be the suite's own: the suite asserts that client lists hold exactly the
clients it brought online, so other clients on the same exchange make it fail.
"""
from __future__ import annotations

import os
import random
import shlex
import time
import traceback
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import pika.exceptions
import rsa
from hypothesis import HealthCheck, Phase, Verbosity, seed as hypothesis_seed, settings
from hypothesis.errors import HypothesisException
from hypothesis.reporting import with_reporter
from hypothesis.stateful import run_state_machine_as_test

import implus_proto as proto
from implus_proto import Online

from .checks import FAIL, NON_STRICT, ConformanceFailure, Recorder, Result
from .machine import PRESENCE_KEYS, RunState, build_machine
from .wire import Bus

DEFAULT_AMQP_URL = os.environ.get("IMPLUS_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
DEFAULT_EXCHANGE = os.environ.get("IMPLUS_EXCHANGE", "CJYFFFIM")
POOL_SIZE = 8
SHORT_STEPS = 6  # the first stage's sequences
_POOL: list[tuple[rsa.PublicKey, rsa.PrivateKey]] = []
_WEAK: list[str] = []


@dataclass
class SuiteConfig:
    amqp_url: str = DEFAULT_AMQP_URL
    exchange: str = DEFAULT_EXCHANGE
    seed: int | None = None
    max_examples: int = 10
    max_steps: int = 15
    strict: bool = False
    verbose: bool = False
    timeout: float = 3.0  # how long to wait for what must arrive
    quiet: float = 0.3  # how long to listen for what must not arrive, when nothing else marks the end
    shrink_time: float = 30.0  # seconds spent shrinking a failure; 0: no shrinking


@dataclass
class Report:
    config: SuiteConfig
    seed: int
    results: list[Result]
    duration: float
    minimal_steps: list[str] | None = None
    minimal_requirement: str | None = None
    hypothesis_output: str = ""
    error: str | None = None
    examples: int = 0
    log: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        if self.error:
            return False
        return not any(r.grade == FAIL for r in self.results)

    def failed_requirements(self) -> set[str]:
        return {r.check.requirement for r in self.results if r.grade in (FAIL, NON_STRICT)}

    def replay_command(self) -> str:
        c, d = self.config, SuiteConfig()
        parts = ["implus-conformance", "--exchange", c.exchange, "--seed", str(self.seed)]
        if c.amqp_url != d.amqp_url:
            parts += ["--amqp-url", c.amqp_url]
        if c.max_examples != d.max_examples:
            parts += ["--max-examples", str(c.max_examples)]
        if c.max_steps != d.max_steps:
            parts += ["--max-steps", str(c.max_steps)]
        if c.strict:
            parts.append("--strict")
        return shlex.join(parts)


def _newkeys(_: int) -> tuple[rsa.PublicKey, rsa.PrivateKey]:
    return rsa.newkeys(1024)


def key_pool() -> list[tuple[rsa.PublicKey, rsa.PrivateKey]]:
    """POOL_SIZE 1024-bit key pairs, made once per process (keygen costs ~0.4 s each)."""
    if len(_POOL) < POOL_SIZE:
        need = POOL_SIZE - len(_POOL)
        try:
            with ProcessPoolExecutor(max_workers=max(1, min(need, os.cpu_count() or 1))) as ex:
                _POOL.extend(ex.map(_newkeys, range(need)))
        except (OSError, RuntimeError):
            _POOL.extend(_newkeys(i) for i in range(need))
    if not _WEAK:
        _WEAK.append(rsa.newkeys(512)[0].save_pkcs1("PEM").decode("ascii"))
    return _POOL[:POOL_SIZE]


def _online(state: RunState, uid: str, name: str, pub: rsa.PublicKey) -> None:
    state.bus.open_queue(uid)
    state.bus.publish(PRESENCE_KEYS[0], proto.encode(Online(
        from_=name, user_id=uid, created_at=int(time.time()),
        message=proto.with_key("prublic_key", proto.public_key_pem(pub)))))


def _offline(state: RunState, uid: str, name: str) -> None:
    state.bus.publish(PRESENCE_KEYS[0], proto.encode(proto.Offline(from_=name, user_id=uid,
                                                                   created_at=int(time.time()), message="")))


def _preflight(state: RunState) -> tuple[str | None, str | None]:
    """Is anybody serving this exchange? (operational error, or a PRES-1 finding)."""
    bus = state.bus
    a, b = (state.fresh_user_id(), state.fresh_name("preflight")), (state.fresh_user_id(), state.fresh_name("preflight"))
    wait = 2 * state.timeout
    _online(state, *a, state.keys[0][0])
    try:
        answered = bus.wait(lambda: bool(bus.inbox.get(a[0])), wait)
        finding = None
        if not answered:
            # Nothing for the newcomer: no server, or one that does not answer newcomers?
            _online(state, *b, state.keys[1][0])
            if bus.wait(lambda: bool(bus.inbox.get(a[0]) or bus.inbox.get(b[0])), wait):
                finding = (f"a newcomer got no client_list within {wait} s, but it got one when the next client "
                           f"came online")
            _offline(state, *b)
        _offline(state, *a)
        bus.pump(state.quiet)
    finally:
        for uid, name in (a, b):
            if uid in bus.inbox:
                bus.close_queue(uid)
            state.retired.add(name)
    if not answered and finding is None:
        return f"no server answered an online on exchange {bus.exchange!r} within {2 * wait} s", None
    return None, finding


def run_suite(config: SuiteConfig) -> Report:
    started = time.monotonic()
    run_seed = config.seed if config.seed is not None else random.SystemRandom().randrange(2**31)
    recorder = Recorder()
    keys = key_pool()
    try:
        bus = Bus(config.amqp_url, config.exchange)
    except (pika.exceptions.AMQPError, OSError, ValueError) as exc:
        return Report(config, run_seed, recorder.results(config.strict), time.monotonic() - started,
                      error=f"cannot connect to RabbitMQ at {config.amqp_url}: {exc!r}")
    out: list[str] = []
    report_kw: dict = {}
    try:
        recorder.exercise("TOP-1")
        try:
            bus.declare_exchange()
        except pika.exceptions.ChannelClosedByBroker as exc:
            recorder.record("TOP-1", f"declaring {config.exchange!r} as a durable direct exchange failed: {exc}", [])
            return Report(config, run_seed, recorder.results(config.strict), time.monotonic() - started,
                          error=f"exchange {config.exchange!r} is not a durable direct exchange")
        state = RunState(bus=bus, recorder=recorder, keys=keys, weak_pem=_WEAK[0], timeout=config.timeout,
                         quiet=config.quiet, shrink_time=config.shrink_time)
        problem, finding = _preflight(state)
        if problem or finding:
            steps = ["preflight: join client A", "preflight: join client B"]
            recorder.record("PRES-1", problem or finding, steps[: 1 if problem else 2])
            return Report(config, run_seed, recorder.results(config.strict), time.monotonic() - started,
                          error=problem, minimal_steps=None if problem else steps, minimal_requirement="PRES-1")
        machine = hypothesis_seed(run_seed)(build_machine(state))
        phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if config.shrink_time > 0 else [])
        # Short sequences first: a failure they find is already small, and shrinking a sequence
        # against a live server is slow. Then the full length, if nothing failed yet.
        stages = [(max(1, config.max_examples // 2), min(SHORT_STEPS, config.max_steps))]
        if config.max_steps > SHORT_STEPS:
            stages.append((config.max_examples, config.max_steps))
        for examples, steps in stages:
            if recorder.first_requirement is not None:
                break
            hs = settings(
                max_examples=examples,
                stateful_step_count=steps,
                deadline=None,
                database=None,
                derandomize=False,
                phases=phases,
                suppress_health_check=list(HealthCheck),
                report_multiple_bugs=False,
                print_blob=False,
                verbosity=Verbosity.normal,
            )
            with with_reporter(lambda value: out.append(str(value))):
                try:
                    run_state_machine_as_test(machine, settings=hs)
                except ConformanceFailure:
                    pass
                except HypothesisException as exc:  # Flaky: a live server did not fail the same way twice
                    out.append(f"hypothesis: {type(exc).__name__}: {exc}")
                except BaseExceptionGroup as exc:  # noqa: F821 (3.11+)
                    out.append(f"hypothesis: {type(exc).__name__}: {exc}")
        report_kw = dict(minimal_steps=state.final_steps, minimal_requirement=state.final_requirement)
    except (pika.exceptions.AMQPError, OSError) as exc:
        report_kw["error"] = f"lost the broker: {exc!r}"
    except Exception as exc:  # a bug of the suite itself: say so instead of blaming the server
        out.append(traceback.format_exc())
        report_kw["error"] = f"internal error in the conformance suite: {exc!r} (run with -v for the traceback)"
    finally:
        bus.close()
    first = recorder.first_requirement
    if first is not None and report_kw.get("minimal_requirement") != first and first in recorder.findings:
        # No final replay (no shrinking), or it failed otherwise (the server changed, e.g. died):
        # the shortest recorded sequence of the run's first failure is the one to show.
        report_kw["minimal_steps"] = recorder.findings[first].steps
        report_kw["minimal_requirement"] = first
    return Report(config, run_seed, recorder.results(config.strict), time.monotonic() - started,
                  hypothesis_output="\n".join(out), examples=recorder.examples, **report_kw)


def fresh_exchange(prefix: str = "implus-conformance") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
