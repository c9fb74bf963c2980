"""implus-conformance: run the IMPlus conformance suite against a live server.

    implus-conformance [--amqp-url U] [--exchange X] [--seed N] [--junit-xml FILE]
                       [--json-report FILE] [--max-examples N] [--max-steps N] [--strict] [-v]

The server under test must consume on the exchange; the suite acts as simulated clients only
(it publishes to the exchange and consumes from user_q<user_id> queues bound to <user_id>).
Give the suite an exchange of its own: it asserts that client lists hold exactly its clients.

The run has two stages (half the examples with sequences of at most 6 steps, then the full
length) so that a failure is found small; hypothesis then shrinks it for at most --shrink-time
seconds. The summary shows the shortest failing step sequence and the replay command (the same
--seed, --max-examples and --max-steps give the same sequences). IMPLUS_CONFORMANCE_DEBUG=1
prints every failure on stderr as it happens.

Exit status: 0 every MUST check passed (with --strict: every SHOULD check too), 1 a check
failed, 2 the suite could not run (no broker, no server answering, bad exchange).
"""
from __future__ import annotations

import argparse
import logging
import sys

from .report import summary, write_outputs
from .runner import DEFAULT_AMQP_URL, DEFAULT_EXCHANGE, SuiteConfig, run_suite


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="implus-conformance", description=__doc__.split("\n\n")[0].split(": ", 1)[1],
                                epilog="Give the suite an exchange of its own. Exit: 0 pass, 1 fail, 2 could not run.")
    p.add_argument("--amqp-url", default=DEFAULT_AMQP_URL, help="RabbitMQ URL (env IMPLUS_AMQP_URL)")
    p.add_argument("--exchange", default=DEFAULT_EXCHANGE, help="the exchange the server under test serves (env IMPLUS_EXCHANGE; default %(default)s)")
    p.add_argument("--seed", type=int, default=None, help="hypothesis seed (default: random, printed for replay)")
    p.add_argument("--junit-xml", metavar="FILE", help="write JUnit XML, one testcase per check")
    p.add_argument("--json-report", metavar="FILE", help="write a JSON report")
    p.add_argument("--max-examples", type=int, default=10, help="hypothesis examples (default %(default)s)")
    p.add_argument("--max-steps", type=int, default=15, help="steps per example (default %(default)s)")
    p.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for what must arrive (default %(default)s)")
    p.add_argument("--quiet-window", type=float, default=0.3, help="seconds to listen for what must not arrive (default %(default)s)")
    p.add_argument("--shrink-time", type=float, default=30.0, help="seconds to spend shrinking a failure; 0 disables (default %(default)s)")
    p.add_argument("--strict", action="store_true", help="SHOULD checks count too")
    p.add_argument("-v", "--verbose", action="store_true", help="per-check detail and hypothesis's own output")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.getLogger("pika").setLevel(logging.CRITICAL)
    for name in ("max_examples", "max_steps"):
        if getattr(args, name) < 1:
            print(f"implus-conformance: error: --{name.replace('_', '-')} must be at least 1", file=sys.stderr)
            return 2
    config = SuiteConfig(amqp_url=args.amqp_url, exchange=args.exchange, seed=args.seed,
                         max_examples=args.max_examples, max_steps=args.max_steps, strict=args.strict,
                         verbose=args.verbose, timeout=args.timeout, quiet=args.quiet_window,
                         shrink_time=args.shrink_time)
    report = run_suite(config)
    print(summary(report, verbose=args.verbose))
    write_outputs(report, args.junit_xml, args.json_report)
    if report.error:
        return 2
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
