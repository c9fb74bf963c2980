"""implus-validate: check IMPlus messages against the v1 schemas, from files or live off a broker.

    implus-validate [--strict] [-v] [--format text|json] [--direction D] [FILE ...|-]
    implus-validate --live [--amqp-url U] [--exchange X] [--duration S] [--count N] [--strict] [-v]

A FILE (or stdin, when there is none or it is `-`) holds either one JSON message (the whole
content is one JSON value, pretty-printed or not) or NDJSON (one message per line, blank lines
skipped). Each message is checked by implus_proto's decode on its raw bytes, so the strict JSON
rules (duplicate keys, NaN, fractions, lone surrogates, size, depth: MSG-1) apply too; `--strict`
also reports unknown fields (MSG-12).

Live mode taps an exchange without disturbing anyone: it declares its own exclusive, auto-delete,
server-named queue, binds it to the client-to-server routing keys (`server`, `system`) and, after
each valid `online`, to that client's user_id (unbinding after its `offline`), and consumes
copies from that queue only. A direct exchange delivers to every bound queue, so every other
consumer still gets every message. The direction a message is checked in follows from its routing
key: `server`/`system` carry client-to-server messages, a user_id carries server-to-client ones
(or the client's own self_offline).

Exit status: 0 every message valid, 1 any invalid, 2 usage or operational error (bad flags, an
unreadable file, no broker, no such exchange).

This lives outside implus_proto because live mode needs pika and implus_proto stays sans-IO.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from typing import Any, Iterator, Sequence, TextIO
from urllib.parse import urlsplit, urlunsplit

from implus_proto import Issue, ProtocolError, default_codec, default_schemas
from implus_proto.schemaset import MessageSpec
from implus_proto.errors import short

PROG = "implus-validate"
USER_ID_KEY = "<user_id>"  # how x-implus.routing_keys writes "the client's own user_id"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_EXCHANGE = "CJYFFFIM"  # TOP-1
STDIN_NAME = "<stdin>"
JSON_WHITESPACE = b" \t\r\n"


# -- checking one message ------------------------------------------------------------------
@dataclass(frozen=True)
class Result:
    """The verdict on one message."""

    source: str
    line: int
    type: str | None  # the message's "type" when it is a string, else None
    class_name: str | None  # the class it decoded to, or the one it was checked against
    issues: tuple[Issue, ...]
    message: Any = None  # the leniently decoded message, when there is one
    routing_key: str | None = None

    @property
    def valid(self) -> bool:
        return not self.issues

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "source": self.source,
            "line": self.line,
            "valid": self.valid,
            "type": self.type,
            "class": self.class_name,
            "errors": [issue.as_dict() for issue in self.issues],
        }
        if self.routing_key is not None:
            out["routing_key"] = self.routing_key
        return out


def _lenient(body: bytes) -> Any:
    """The body parsed by a forgiving parser (only to name the type in reports), or None."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def _type_of(obj: Any) -> str | None:
    if isinstance(obj, dict) and isinstance(obj.get("type"), str):
        return obj["type"]
    return None


def examine(
    body: bytes,
    *,
    strict: bool = False,
    direction: str | None = None,
    source: str = "",
    line: int = 1,
    routing_key: str | None = None,
    extra: Sequence[Issue] = (),
) -> Result:
    """Decode one body with implus_proto (leniently, then strictly when asked) and say what is wrong.

    `message` is set whenever the lenient decode succeeds, so live mode can follow an `online`
    that only --strict objects to (receivers ignore unknown fields, MSG-12).
    """
    codec = default_codec()
    obj = _lenient(body)
    message = None
    try:
        message = codec.decode(body, direction=direction)
    except ProtocolError as exc:
        issues: tuple[Issue, ...] = exc.issues
    else:
        issues = ()
        if strict:
            try:
                codec.decode(body, strict=True, direction=direction)
            except ProtocolError as exc:
                issues = exc.issues
    if message is not None:
        class_name: str | None = type(message).__name__
    else:
        spec, _ = codec.spec_for(obj, direction) if obj is not None else (None, None)
        class_name = spec.class_name if spec is not None else None
    return Result(source, line, _type_of(obj), class_name, tuple(extra) + issues, message, routing_key)


# -- files ---------------------------------------------------------------------------------
def split_messages(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(line number, raw bytes) of each message in a file's content.

    The whole content is one message if it parses as one JSON value; otherwise it is NDJSON.
    """
    stripped = data.lstrip(JSON_WHITESPACE)
    if stripped and _parses(data):
        yield 1 + data[: len(data) - len(stripped)].count(b"\n"), data
        return
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.strip(JSON_WHITESPACE):
            yield number, line


def _parses(data: bytes) -> bool:
    try:
        json.loads(data)
    except (ValueError, RecursionError):
        return False
    return True


# -- reporting -----------------------------------------------------------------------------
class Reporter:
    """Prints verdicts as text blocks or NDJSON and keeps the counts."""

    def __init__(self, fmt: str = "text", verbose: bool = False, out: TextIO | None = None) -> None:
        self.fmt = fmt
        self.verbose = verbose
        self.out = out or sys.stdout
        self.valid = 0
        self.invalid = 0

    def report(self, result: Result) -> None:
        if result.valid:
            self.valid += 1
        else:
            self.invalid += 1
        if self.fmt == "json":
            self.out.write(json.dumps(result.as_dict(), ensure_ascii=False) + "\n")
        elif not result.valid:
            self.out.write(format_invalid(result))
        elif self.verbose:
            self.out.write(f"{result.source}:{result.line}: ok {result.class_name}\n")
        self.out.flush()

    @property
    def total(self) -> int:
        return self.valid + self.invalid

    def summary(self) -> str:
        noun = "message" if self.total == 1 else "messages"
        return f"{self.total} {noun}: {self.valid} valid, {self.invalid} invalid"

    def print_summary(self) -> None:
        # In JSON mode stdout stays pure NDJSON: the summary goes to stderr.
        stream = sys.stderr if self.fmt == "json" else self.out
        stream.write(self.summary() + "\n")
        stream.flush()


def format_issue(issue: Issue) -> str:
    schema_path = "/".join(str(p) for p in issue.schema_path)
    return f"  {issue}" + (f"  (schema: {schema_path})" if schema_path else "")


def format_invalid(result: Result) -> str:
    shown = short(result.type, 40) if result.type is not None and not result.type.isprintable() else (result.type or "?")
    lines = [f"{result.source}:{result.line}: invalid {shown}"]
    lines += [format_issue(issue) for issue in result.issues]
    return "\n".join(lines) + "\n"


def _error(text: str) -> None:
    sys.stderr.write(f"{PROG}: {text}\n")
    sys.stderr.flush()


# -- file mode -----------------------------------------------------------------------------
def run_files(args: argparse.Namespace, reporter: Reporter) -> int:
    status = 0
    for name in args.files or ["-"]:
        if name == "-":
            source, data = STDIN_NAME, sys.stdin.buffer.read()
        else:
            source = name
            try:
                with open(name, "rb") as fh:
                    data = fh.read()
            except OSError as exc:
                _error(f"cannot read {name}: {exc.strerror or exc}")
                status = 2
                continue
        found = False
        for line, body in split_messages(data):
            found = True
            reporter.report(examine(body, strict=args.strict, direction=args.direction, source=source, line=line))
        if not found:
            _error(f"{source}: no messages")
    reporter.print_summary()
    if status:
        return status
    return 1 if reporter.invalid else 0


# -- live mode -----------------------------------------------------------------------------
class RoutingRules:
    """What may travel on which routing key, read from x-implus.routing_keys of every schema."""

    def __init__(self, specs: Sequence[MessageSpec] | None = None) -> None:
        self.specs = tuple(specs if specs is not None else default_schemas().specs)
        # The fixed keys every client publishes to ('server', 'system'); anything else is a user_id.
        self.fixed_keys = tuple(sorted({k for s in self.specs for k in s.routing_keys if k != USER_ID_KEY}))

    def specs_for_key(self, routing_key: str) -> tuple[MessageSpec, ...]:
        return tuple(
            s for s in self.specs
            if routing_key in s.routing_keys or (USER_ID_KEY in s.routing_keys and routing_key not in self.fixed_keys)
        )

    def direction(self, routing_key: str, kind: str | None) -> tuple[str | None, Issue | None]:
        """The direction to check a message of this type in, or why the routing key is wrong for it."""
        allowed = self.specs_for_key(routing_key)
        if kind is not None:
            of_type = [s for s in allowed if s.type == kind]
            if not of_type:
                keys = sorted({k for s in self.specs if s.type == kind for k in s.routing_keys})
                if keys:  # a known type on the wrong key
                    return None, self.wrong_key(kind, keys, routing_key)
                of_type = list(allowed)  # unknown type: the codec reports it (MSG-2)
            allowed = tuple(of_type)
        directions = {s.direction for s in allowed}
        return (directions.pop() if len(directions) == 1 else None), None

    def check_class(self, routing_key: str, message: Any) -> Issue | None:
        """After a decode without a fixed direction: is the class it decoded to allowed here?"""
        allowed = self.specs_for_key(routing_key)
        if any(s.class_name == type(message).__name__ for s in allowed):
            return None
        spec = next(s for s in self.specs if s.class_name == type(message).__name__)
        return self.wrong_key(spec.type, list(spec.routing_keys), routing_key)

    def wrong_key(self, kind: str, keys: Sequence[str], routing_key: str) -> Issue:
        if "system" in keys:
            req = "TOP-3"  # presence goes on system (servers also accept server)
        elif "server" in keys:
            req = "TOP-2"  # chat goes on server
        else:
            req = "TOP-4"  # to a client: its own user_id
        shown = " or ".join("a client's user_id" if k == USER_ID_KEY else repr(k) for k in keys)
        where = "a client's user_id" if routing_key not in self.fixed_keys else repr(routing_key)
        return Issue(("type",), ("x-implus", "routing_keys"), req, f"a {kind!r} message goes on routing key {shown}, not on {where}")


def _safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        parts = urlsplit(url)
        if parts.password:
            netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
            return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        pass
    return url


class _Stop(Exception):
    pass


def run_live(args: argparse.Namespace, reporter: Reporter) -> int:
    import pika
    from pika.exceptions import AMQPChannelError, AMQPConnectionError, AMQPError, ChannelClosedByBroker

    rules = RoutingRules()
    url = _safe_url(args.amqp_url)
    try:
        connection = pika.BlockingConnection(pika.URLParameters(args.amqp_url))
    except (AMQPError, OSError, ValueError) as exc:
        _error(f"cannot connect to {url}: {exc!r}")
        return 2
    channel = connection.channel()
    try:
        channel.exchange_declare(exchange=args.exchange, passive=True)
    except ChannelClosedByBroker as exc:
        if exc.reply_code == 404:
            _error(f"exchange {args.exchange!r} does not exist on {url} (nothing to tap; is the server running with this exchange?)")
        else:
            _error(f"cannot use exchange {args.exchange!r}: {exc.reply_text}")
        _close(connection)
        return 2
    queue = channel.queue_declare(queue="", exclusive=True, auto_delete=True).method.queue
    for key in rules.fixed_keys:
        channel.queue_bind(queue=queue, exchange=args.exchange, routing_key=key)
    followed: set[str] = set()

    def handle(routing_key: str, body: bytes, seq: int) -> None:
        source = f"{args.exchange}/{routing_key}"
        direction, wrong = rules.direction(routing_key, _type_of(_lenient(body)))
        result = examine(
            body, strict=args.strict, direction=direction, source=source, line=seq,
            routing_key=routing_key, extra=[wrong] if wrong else [],
        )
        if result.message is not None and direction is None and not wrong:
            misrouted = rules.check_class(routing_key, result.message)
            if misrouted:
                result = Result(result.source, result.line, result.type, result.class_name,
                                (misrouted,) + result.issues, result.message, routing_key)
        message = result.message
        if message is not None and not wrong and routing_key in rules.fixed_keys:
            user_id = getattr(message, "user_id", None)
            if message.TYPE == "online" and user_id and user_id not in followed and user_id not in rules.fixed_keys:
                channel.queue_bind(queue=queue, exchange=args.exchange, routing_key=user_id)
                followed.add(user_id)
                if args.verbose:
                    _error(f"following client {message.from_!r} (its user_id routing key)")
            elif message.TYPE == "offline" and user_id in followed:
                channel.queue_unbind(queue=queue, exchange=args.exchange, routing_key=user_id)
                followed.discard(user_id)
                if args.verbose:
                    _error(f"no longer following client {message.from_!r}")
        reporter.report(result)  # after any bind, so a reader of -v output knows it is in place

    def stop(signum: int, frame: Any) -> None:
        raise _Stop()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    status = 0
    _error(
        f"tapping exchange {args.exchange!r} on {url} through queue {queue} "
        f"(routing keys {', '.join(rules.fixed_keys)} and the user_id of every client that goes online)"
    )
    deadline = time.monotonic() + args.duration if args.duration else None
    try:
        seq = 0
        for method, _props, body in channel.consume(queue, auto_ack=True, inactivity_timeout=0.25):
            if method is not None:
                seq += 1
                handle(method.routing_key, body, seq)
                if args.count and seq >= args.count:
                    break
            if deadline is not None and time.monotonic() >= deadline:
                break
    except (_Stop, KeyboardInterrupt):
        pass
    except (AMQPConnectionError, AMQPChannelError) as exc:
        _error(f"lost the broker: {exc!r}")
        status = 2
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _close(connection)
    reporter.print_summary()
    if status:
        return status
    return 1 if reporter.invalid else 0


def _close(connection: Any) -> None:
    try:
        if connection.is_open:
            connection.close()
    except Exception:  # noqa: BLE001 - closing after an interrupt or a broker error; nothing left to do
        pass


# -- command line --------------------------------------------------------------------------
def _positive(kind: type) -> Any:
    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
        return value

    return convert


def build_parser() -> argparse.ArgumentParser:
    directions = sorted({s.direction for s in default_schemas().specs})
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Validate IMPlus v1 messages (JSON files, NDJSON, stdin, or live traffic on an exchange).",
        epilog="Exit status: 0 all valid, 1 some invalid, 2 usage or operational error.",
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="a JSON message or NDJSON file; '-' or none: stdin")
    parser.add_argument("--strict", action="store_true", help="also report unknown fields (MSG-12)")
    parser.add_argument("-v", "--verbose", action="store_true", help="also print every valid message")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="text blocks (default) or one JSON object per message")
    parser.add_argument("--direction", choices=directions, help="check every message in this direction (default: inferred)")
    live = parser.add_argument_group("live mode")
    live.add_argument("--live", action="store_true", help="tap an exchange on a broker instead of reading files")
    live.add_argument("--amqp-url", default=os.environ.get("IMPLUS_AMQP_URL", DEFAULT_AMQP_URL), help=f"broker URL (default: $IMPLUS_AMQP_URL, else {DEFAULT_AMQP_URL})")
    live.add_argument("--exchange", default=os.environ.get("IMPLUS_EXCHANGE", DEFAULT_EXCHANGE), help=f"exchange to tap (default: $IMPLUS_EXCHANGE, else {DEFAULT_EXCHANGE})")
    live.add_argument("--duration", type=_positive(float), metavar="S", help="stop after S seconds")
    live.add_argument("--count", type=_positive(int), metavar="N", help="stop after N messages")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.live:
        if args.files:
            parser.error("--live reads from the broker: give no FILE")
        if args.direction:
            parser.error("--live infers each message's direction from its routing key: drop --direction")
    elif args.duration is not None or args.count is not None:
        parser.error("--duration and --count apply to --live only")
    reporter = Reporter(args.format, args.verbose)
    try:
        return run_live(args, reporter) if args.live else run_files(args, reporter)
    except BrokenPipeError:  # e.g. piped into head
        sys.stderr.close()
        return 1 if reporter.invalid else 0


if __name__ == "__main__":
    sys.exit(main())
