"""Run the conformance suite against whatever server consumes on an exchange.

    from conformance import SuiteConfig, run_suite
    report = run_suite(SuiteConfig(exchange="implus-mine", seed=1))
    report.passed, report.failed_requirements()

The exchange must be the suite's own: the suite asserts that client lists hold exactly the
clients it brought online, so other clients on the same exchange make it fail.
"""
from __future__ import annotations

import json
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

from implus_proto.errors import redact_url, root_cause
import implus_proto as proto
from implus_proto import Online

from .checks import FAIL, NON_STRICT, RESTART_CHECKS, ConformanceFailure, Recorder, Result
from .machine import PRESENCE_KEYS, TO_CLIENT, RunState, build_machine
from .process import Managed, expand
from .wire import Bus, shorten_body

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
    server_cmd: str | None = None  # the suite starts (and restarts) the server itself
    start_timeout: float = 30.0  # how long a started server may take to answer
    replay: dict | None = None  # a saved failure (load_failure) to rerun instead of generating steps


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
    minimal_calls: list[dict] | None = None
    server_log: str = ""
    kind: str = "server"
    command: str | None = None  # client mode: the command line that reruns the checks

    @property
    def minimal_result(self) -> Result | None:
        """The failed check whose step sequence is the report's minimal one."""
        for r in self.results:
            if r.grade == FAIL and r.check.requirement == self.minimal_requirement:
                return r
        return None

    def failure_doc(self) -> dict | None:
        """What --save-failure writes: enough to rerun exactly the failing steps against any server."""
        if self.minimal_steps is None or self.minimal_requirement is None:
            return None
        c = self.config
        r = self.minimal_result
        f = r.finding if r else None
        return {
            "format": FAILURE_FORMAT,
            "seed": self.seed,
            "exchange": c.exchange,
            "settings": {"max_examples": c.max_examples, "max_steps": c.max_steps, "timeout": c.timeout,
                         "quiet": c.quiet, "strict": c.strict},
            "requirement": self.minimal_requirement,
            "check": r.check.id if r else None,
            "evidence": r.evidence if r else None,
            "expected": f.expected if f else None,
            "arrived": f.arrived if f else [],
            "steps": self.minimal_steps,
            "calls": self.minimal_calls or [],
        }

    @property
    def passed(self) -> bool:
        if self.error:
            return False
        return not any(r.grade == FAIL for r in self.results)

    def failed_requirements(self) -> set[str]:
        return {r.check.requirement for r in self.results if r.grade in (FAIL, NON_STRICT)}

    def replay_command(self, failure_file: str | None = None) -> str:
        c, d = self.config, SuiteConfig()
        if self.command:
            return self.command
        if failure_file:
            parts = ["implus-conformance", "--replay", failure_file, "--exchange", c.exchange]
            if c.amqp_url != d.amqp_url:
                parts += ["--amqp-url", c.amqp_url]
            return shlex.join(parts)
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


FAILURE_FORMAT = "implus-conformance-failure/1"


def load_failure(path: str) -> dict:
    """A failure file written by --save-failure; ValueError if it is not one."""
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    if not isinstance(doc, dict) or doc.get("format") != FAILURE_FORMAT or not isinstance(doc.get("calls"), list):
        raise ValueError(f"{path} is not a failure file of implus-conformance ({FAILURE_FORMAT})")
    doc["path"] = path
    return doc


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
        if answered:
            bus.pump(state.settle)
            _note_ids(state, list(bus.inbox.get(a[0], [])), a[1], a[0])
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


def _wait_answer(state: RunState, server: Managed, timeout: float) -> tuple[str | None, dict | None]:
    """Until a started server answers an online: (error, the answered probe's list and id) ."""
    bus = state.bus
    uid, name = state.fresh_user_id(), state.fresh_name("probe")
    bus.open_queue(uid)
    deadline = time.monotonic() + timeout
    got = None
    try:
        while time.monotonic() < deadline:
            if not server.alive():
                return (f"the server command exited with status {server.returncode()} before it answered; "
                        f"its last output:\n{server.tail()}"), None
            _online(state, uid, name, state.keys[0][0])
            if bus.wait(lambda: bool(bus.inbox.get(uid)), 1.0):
                bus.pump(state.quiet)
                got = bus.take(uid)
                break
        if got is None:
            return f"the server started by --server-cmd did not answer an online within {timeout:g} s", None
        _note_ids(state, got, name, uid)
        _offline(state, uid, name)
        bus.pump(state.quiet)
        bus.take_all()
        return None, {"user_id": uid, "name": name, "deliveries": got}
    finally:
        bus.close_queue(uid)
        state.retired.add(name)


def _note_ids(state: RunState, deliveries: list, name: str, uid: str) -> None:
    """Remember the id a probe client got (ID-2: no later client may get it)."""
    for d in deliveries:
        for e in _entries(d.body) or []:
            if e.user_name == name:
                state.ids_seen.setdefault(e.id, uid)


def _entries(body: bytes) -> list | None:
    try:
        msg = proto.decode(body, direction=TO_CLIENT)
    except proto.ProtocolError:
        return None
    return list(msg.message) if isinstance(msg, proto.ClientList) else None


def _restart_checks(state: RunState, server: Managed, config: SuiteConfig) -> None:
    """ID-2 and PRES-6 across a restart of the server (its store lives on)."""
    rec, bus = state.recorder, state.bus
    steps: list[str] = []
    a = (state.fresh_user_id(), state.fresh_name("before"))
    c = (state.fresh_user_id(), state.fresh_name("stays"))
    ids: dict[str, int] = {}
    try:
        for who, (uid, name), key in (("A", a, 1), ("C", c, 2)):
            steps.append(f"join client {who} {name!r}")
            _online(state, uid, name, state.keys[key][0])
            bus.wait(lambda: bool(bus.inbox.get(uid)), state.timeout)
            bus.pump(state.quiet)
            for d in bus.take_all():
                for e in _entries(d.body) or []:
                    if e.user_name in (a[1], c[1]):
                        ids[e.user_name] = e.id
        for name, i in ids.items():
            state.ids_seen.setdefault(i, a[0] if name == a[1] else c[0])
        steps.append(f"offline of client A {a[1]!r}")
        _offline(state, *a)
        bus.pump(state.quiet)
        bus.take_all()
        if c[1] not in ids:
            rec.skip("ids-after-restart", "the server gave no client_list before the restart")
            rec.skip("presence-after-restart", "the server gave no client_list before the restart")
            return
        steps.append("restart the server (SIGTERM, wait for exit, start --server-cmd again)")
        server.stop()
        server.start()
        err, probe = _wait_answer(state, server, config.start_timeout)
        steps.append("join client B after the restart (until the server answers)")
        rec.exercise("ids-after-restart", "presence-after-restart")
        if err:
            rec.record("presence-after-restart", f"after a restart: {err}", steps)
            return
        assert probe is not None
        arrived = [{"to": f"B {probe['name']!r}", "routing_key": d.routing_key, "body": shorten_body(d.body)}
                   for d in probe["deliveries"]]
        lists = [x for x in (_entries(d.body) for d in probe["deliveries"]) if x is not None]
        first = lists[0] if lists else []
        mine = [e for e in first if e.user_name == probe["name"]]
        kept = [e for e in first if e.user_name == c[1]]
        if mine:
            owner = state.ids_seen.get(mine[0].id)
            if owner is not None and owner != probe["user_id"]:
                rec.record("ids-after-restart", f"after the restart newcomer B got id {mine[0].id}, which the "
                                                f"server had given before the restart", steps,
                           expected=f"an id for B other than {sorted(state.ids_seen)} (ids given before)",
                           arrived=arrived)
        if not kept:
            rec.record("presence-after-restart", f"client C {c[1]!r} (id {ids[c[1]]}) went online before the "
                                                 f"restart and never offline, but B's client_list after the restart "
                                                 f"does not list it", steps,
                       expected=f"B's client_list lists C {c[1]!r} with id {ids[c[1]]}", arrived=arrived)
        elif kept[0].id != ids[c[1]]:
            rec.record("presence-after-restart", f"client C {c[1]!r} had id {ids[c[1]]} before the restart and "
                                                 f"{kept[0].id} after it", steps,
                       expected=f"C keeps id {ids[c[1]]}", arrived=arrived)
    finally:
        _offline(state, *c)
        bus.pump(state.quiet)
        bus.take_all()
        state.retired.update({a[1], c[1]})


def _start_server(config: SuiteConfig) -> Managed:
    cmd = expand(config.server_cmd or "", exchange=config.exchange, amqp_url=config.amqp_url)
    return Managed(cmd, env={"IMPLUS_EXCHANGE": config.exchange, "IMPLUS_AMQP_URL": config.amqp_url},
                   label="server").start()


def _replay(state: RunState, calls: list[dict]) -> None:
    """Rerun a saved call sequence once: the same rules with the same arguments, in order."""
    state.replaying = True
    machine = build_machine(state)()
    try:
        for call in calls:
            getattr(machine, call["rule"])(**call["args"])
    except ConformanceFailure:
        pass
    finally:
        try:
            machine.teardown()
        except (ConformanceFailure, pika.exceptions.AMQPError):
            pass


def run_suite(config: SuiteConfig) -> Report:
    started = time.monotonic()
    replay = config.replay
    run_seed = config.seed if config.seed is not None else (
        int(replay["seed"]) if replay and isinstance(replay.get("seed"), int) else random.SystemRandom().randrange(2**31))
    recorder = Recorder()
    keys = key_pool()
    out: list[str] = []
    report_kw: dict = {}
    server: Managed | None = None

    def done(**kw) -> Report:
        if server is not None:
            server.stop()
            kw["server_log"] = server.output()
        return Report(config, run_seed, recorder.results(config.strict), time.monotonic() - started,
                      hypothesis_output="\n".join(out), examples=recorder.examples, **kw)

    try:
        bus = Bus(config.amqp_url, config.exchange)
    except (pika.exceptions.AMQPError, OSError, ValueError) as exc:
        return done(error=f"cannot connect to RabbitMQ at {redact_url(config.amqp_url)}: {root_cause(exc)}")
    try:
        recorder.exercise("TOP-1")
        try:
            bus.declare_exchange()
        except pika.exceptions.ChannelClosedByBroker as exc:
            recorder.record("TOP-1", f"declaring {config.exchange!r} as a durable direct exchange failed: {exc}", [],
                            expected="the exchange is (or can be declared as) durable and of type direct")
            return done(error=f"exchange {config.exchange!r} is not a durable direct exchange",
                        minimal_steps=[], minimal_requirement="TOP-1", minimal_calls=[])
        state = RunState(bus=bus, recorder=recorder, keys=keys, weak_pem=_WEAK[0], timeout=config.timeout,
                         quiet=config.quiet, shrink_time=config.shrink_time)
        if config.server_cmd:
            server = _start_server(config)
            err, _ = _wait_answer(state, server, config.start_timeout)
            if err:
                return done(error=err)
        problem, finding = _preflight(state)
        if problem or finding:
            steps = ["preflight: join client A", "preflight: join client B"]
            recorder.record("PRES-1", problem or finding, steps[: 1 if problem else 2],
                            expected="a client_list to a client that has just sent its online")
            return done(error=problem, minimal_steps=None if problem else steps, minimal_requirement="PRES-1",
                        minimal_calls=[])
        if replay is not None:
            _replay(state, list(replay.get("calls") or []))
        else:
            _generate(state, config, run_seed, out)
        if server is not None and (replay is None or replay.get("check") in {c.id for c in RESTART_CHECKS}):
            _restart_checks(state, server, config)
        report_kw = dict(minimal_steps=state.final_steps, minimal_requirement=state.final_requirement,
                         minimal_calls=state.final_calls)
    except (pika.exceptions.AMQPError, OSError) as exc:
        report_kw["error"] = f"lost the broker: {exc!r}"
    except Exception as exc:  # a bug of the suite itself: say so instead of blaming the server
        out.append(traceback.format_exc())
        report_kw["error"] = f"internal error in the conformance suite: {exc!r} (run with -v for the traceback)"
    finally:
        bus.close()
    first = recorder.first_check
    if first is not None and report_kw.get("minimal_requirement") != recorder.first_requirement \
            and first in recorder.findings:
        # No final replay (no shrinking), or it failed otherwise (the server changed, e.g. died):
        # the shortest recorded sequence of the run's first failure is the one to show.
        f = recorder.findings[first]
        report_kw.update(minimal_steps=f.steps, minimal_requirement=f.requirement, minimal_calls=f.calls)
    return done(**report_kw)


def _generate(state: RunState, config: SuiteConfig, run_seed: int, out: list[str]) -> None:
    recorder = state.recorder
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


def fresh_exchange(prefix: str = "implus-conformance") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
