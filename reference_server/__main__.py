"""implus-server: the IMPlus reference server."""
from __future__ import annotations

import argparse
import logging
import signal
import sys

from .server import (
    DEFAULT_AMQP_URL, DEFAULT_EXCHANGE, DEFAULT_REDIS_URL, MAX_CLIENTS, ReferenceServer, ServerConfig, StartupError,
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="implus-server",
        description="IMPlus reference server: keeps presence in Redis and routes messages over one RabbitMQ direct exchange.",
    )
    env = ServerConfig()
    p.add_argument("--amqp-url", default=env.amqp_url, help=f"RabbitMQ URL (env IMPLUS_AMQP_URL; default {DEFAULT_AMQP_URL})")
    p.add_argument("--redis-url", default=env.redis_url, help=f"Redis URL (env IMPLUS_REDIS_URL; default {DEFAULT_REDIS_URL})")
    p.add_argument("--exchange", default=env.exchange, help=f"exchange name (env IMPLUS_EXCHANGE; default {DEFAULT_EXCHANGE})")
    p.add_argument("--queue", default=None, help="the server's own queue (default implus.server.<exchange>)")
    p.add_argument("--reset-presence", action="store_true", help="forget who was online before this start (ids are still never reused)")
    p.add_argument("--max-clients", type=int, default=MAX_CLIENTS,
                   help="refuse new clients beyond this many (default and most: %(default)s, what one client_list holds)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def main(argv: list[str] | None = None, server_class: type[ReferenceServer] = ReferenceServer) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 1 <= args.max_clients <= MAX_CLIENTS:
        parser.error(f"--max-clients must be between 1 and {MAX_CLIENTS}")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s implus-server %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    # pika logs each failed connection attempt with a traceback and warns of every returned
    # (unroutable) message; the server says itself, in one line each, what failed and what it did
    logging.getLogger("pika").setLevel(logging.DEBUG if args.verbose else logging.CRITICAL)
    config = ServerConfig(amqp_url=args.amqp_url, redis_url=args.redis_url, exchange=args.exchange,
                          queue=args.queue, reset_presence=args.reset_presence,
                          max_clients=args.max_clients)
    try:
        server = server_class(config)
        server.connect()
    except StartupError as exc:
        print(f"implus-server: error: {exc}", file=sys.stderr)
        return 1
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: server.stop())
    try:
        server.serve()
    except StartupError as exc:
        print(f"implus-server: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
