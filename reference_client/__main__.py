"""implus-client: the IMPlus reference client.

  implus-client --name alice                      interactive (cl, <id> <text>, quit)
  implus-client --name alice --to bob hello       send one message, then leave
  implus-client --name bob --listen [--count N]   print what arrives, one line each

Exit status: 0 on success, 1 when the client could not do what it was asked (the reason is
one line on stderr), 2 on bad command-line arguments.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from typing import Any, Sequence

import implus_proto as proto

from .session import DEFAULT_AMQP_URL, DEFAULT_EXCHANGE, ClientError, Config, Session, printable

PROG = "implus-client"
DEFAULT_ONE_SHOT_TIMEOUT = 10.0
DEFAULT_KEY_BITS = 2048  # SEC-1; generating one takes a few seconds with the pure-Python rsa package


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="IMPlus reference client: chat over an IMPlus exchange on RabbitMQ.",
        epilog="Without --to or --listen the client is interactive.",
    )
    p.add_argument("--name", required=True, help="your display name")
    p.add_argument("--amqp-url", default=os.environ.get("IMPLUS_AMQP_URL", DEFAULT_AMQP_URL),
                   help="broker URL (env IMPLUS_AMQP_URL; default %(default)s)")
    p.add_argument("--exchange", default=os.environ.get("IMPLUS_EXCHANGE", DEFAULT_EXCHANGE),
                   help="the IMPlus exchange (env IMPLUS_EXCHANGE; default %(default)s)")
    p.add_argument("--key-field", choices=proto.KEY_FIELDS, default=proto.KEY_FIELDS[0],
                   help="how to spell the public-key field of the online message (default %(default)s)")
    p.add_argument("--key-bits", type=int, default=int(os.environ.get("IMPLUS_KEY_BITS", DEFAULT_KEY_BITS)),
                   help="RSA key size (env IMPLUS_KEY_BITS; default %(default)s, as SEC-1 recommends; at least 1024)")
    p.add_argument("--timeout", type=float, metavar="S",
                   help="one-shot: how long to wait for the server and the recipient (default 10); "
                        "listen: stop after S seconds")
    p.add_argument("-v", "--verbose", action="count", default=0, help="log to stderr (-vv: debug)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--to", metavar="NAME", help="send TEXT to the online user NAME and leave")
    mode.add_argument("--listen", action="store_true", help="print each message that arrives, one line each")
    p.add_argument("--count", type=int, metavar="N", help="listen: leave after N messages")
    p.add_argument("--user-id", help=argparse.SUPPRESS)  # tests: choose the user_id (the queue's routing key)
    p.add_argument("text", nargs="*", help="the message (with --to)")
    return p


def check_args(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.to is not None and not args.text:
        p.error("--to needs the message TEXT")
    if args.to is None and args.text:
        p.error("TEXT is only for --to NAME")
    if args.count is not None and not args.listen:
        p.error("--count is only for --listen")
    if args.count is not None and args.count < 1:
        p.error("--count must be at least 1")
    if args.timeout is not None and not args.timeout > 0:
        p.error("--timeout must be more than 0 seconds")
    if args.key_bits < 1024:
        p.error("--key-bits must be at least 1024")
    # Check the name and user_id against the schemas (MSG-4, MSG-3) by building a message.
    try:
        proto.encode(proto.Offline(from_=args.name, user_id=args.user_id or "0" * 32, created_at=0, message=""))
    except proto.ProtocolError as exc:
        issue = exc.issues[0]
        flag = "--name" if issue.path[:1] == ("from",) else "--user-id" if issue.path[:1] == ("user_id",) else "argument"
        p.error(f"{flag}: {issue.reason}")


def setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{PROG}: %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # pika logs every failed connection attempt with a traceback: the client says it in one line.
    logging.getLogger("pika").setLevel(logging.DEBUG if verbose >= 3 else logging.CRITICAL + 1)


def warn(text: str) -> None:
    print("warning: " + printable(text), file=sys.stderr, flush=True)


def fail(message: str) -> int:
    print(f"{PROG}: {printable(message)}", file=sys.stderr, flush=True)
    return 1


def one_shot(session: Session, to: str, text: str, timeout: float) -> int:
    ex = session.config.exchange
    try:
        session.open()
        session.go_online()
        deadline = time.monotonic() + timeout
        if not session.wait_for(lambda: session.lists_seen > 0, timeout):
            raise ClientError(f"no server answered on exchange {ex} within {timeout:g} s")
        if not session.wait_for(lambda: session.find(to) is not None, max(0.0, deadline - time.monotonic())):
            raise ClientError(f"no user named {to!r} is online on exchange {ex} (waited {timeout:g} s)")
        target = session.find(to)
        assert target is not None
        session.send(target.id, text)
        logging.getLogger("implus.client").info("sent %d characters to %s", len(text), target)
    except ClientError as exc:
        session.close()
        return fail(str(exc))
    except KeyboardInterrupt:
        session.close()
        return fail("interrupted")
    session.close()
    return 0


class _Stop:
    def __init__(self) -> None:
        self.requested = False

    def __call__(self, signum: int, frame: Any) -> None:
        self.requested = True


def listen(session: Session, count: int | None, timeout: float | None) -> int:
    received = 0

    def on_message(name: str, from_id: int, text: str) -> None:
        nonlocal received
        if count is not None and received >= count:
            return  # already done; the rest is dropped with the queue
        received += 1
        sys.stdout.write(f"from {printable(name)}: {printable(text)}\n")
        sys.stdout.flush()

    session.on_message = on_message
    stop = _Stop()
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        session.open()
        session.go_online()
        deadline = None if timeout is None else time.monotonic() + timeout
        while not stop.requested and (count is None or received < count):
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                session.pump(min(0.2, left))
            else:
                session.pump(0.2)
        if session.lists_seen == 0:
            logging.getLogger("implus.client").warning(
                "no client_list arrived: is a server consuming on exchange %s?", session.config.exchange)
    except ClientError as exc:
        session.close()
        return fail(str(exc))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    session.close()
    if count is not None and received < count and not stop.requested:
        return fail(f"only {received} of {count} messages arrived within {timeout:g} s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # before the modes install their own handling (e.g. during key generation)
        print(file=sys.stderr)
        return 130


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_args(parser, args)
    setup_logging(args.verbose)
    config = Config(name=args.name, amqp_url=args.amqp_url, exchange=args.exchange,
                    key_field=args.key_field, key_bits=args.key_bits, user_id=args.user_id)
    try:
        session = Session(config, on_warning=warn)
    except ClientError as exc:
        return fail(str(exc))
    if args.to is not None:
        return one_shot(session, args.to, " ".join(args.text), args.timeout or DEFAULT_ONE_SHOT_TIMEOUT)
    if args.listen:
        return listen(session, args.count, args.timeout)
    from .terminal import Terminal

    term = Terminal(session, stdin=sys.stdin, stdout=sys.stdout, stderr=sys.stderr,
                    answer_timeout=args.timeout or DEFAULT_ONE_SHOT_TIMEOUT)
    return term.run()


if __name__ == "__main__":
    sys.exit(main())
