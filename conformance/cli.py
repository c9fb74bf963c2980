"""implus-conformance: run the IMPlus conformance suite against a live server (or client).

    implus-conformance [--amqp-url U] [--exchange X] [--seed N] [--server-cmd CMD]
                       [--junit-xml FILE] [--json-report FILE] [--save-failure FILE]
                       [--max-examples N] [--max-steps N] [--strict] [-v]
    implus-conformance --replay FAILURE.json --exchange X      rerun a saved failure's steps
    implus-conformance --client-cmd CMD [--client-send-cmd CMD]   check a client instead

Server mode: the suite acts as simulated clients (it publishes to the exchange and consumes
from user_q<user_id> queues bound to <user_id>). Give the suite an exchange of its own: it
asserts that client lists hold exactly its clients. Without --server-cmd the server must
already serve the exchange; with --server-cmd the suite starts it (a shell command; `{exchange}`
and `{amqp_url}` are replaced, env IMPLUS_EXCHANGE and IMPLUS_AMQP_URL are set), waits until it
answers, and also runs the checks that restart it (ids and presence across a restart).

The run has two stages (half the examples with sequences of at most 6 steps, then the full
length) so that a failure is found small; hypothesis then shrinks it for at most --shrink-time
seconds. Each failure names its requirement, quotes it from SPEC.md, shows what was expected
and what arrived. When a MUST check fails, the shortest failing step sequence is saved
(default implus-failure-<seed>.json in the current directory; --save-failure FILE elsewhere,
--no-save-failure not at all); --replay FILE reruns exactly those steps against any server.
The same --seed, --max-examples and --max-steps also give the same generated sequences.
IMPLUS_CONFORMANCE_DEBUG=1 prints every failure on stderr as it happens.

Client mode (--client-cmd): the suite plays the server and the other peers on a fresh exchange
(unless --exchange is given), starts CMD with `{exchange}` replaced (for example
`implus-client --name probe --exchange {exchange} --listen --timeout 30`), and checks what the
client publishes and how it takes good and bad input. --client-send-cmd (with `{peer}` and
`{text}` too) starts a client that sends one message and leaves.

Exit status: 0 every MUST check passed (with --strict: every SHOULD check too), 1 a check
failed, 2 the suite could not run (no broker, no server answering, bad exchange).
"""
from __future__ import annotations

import argparse
import logging
import sys

from .report import save_failure, summary, write_outputs
from .runner import DEFAULT_AMQP_URL, DEFAULT_EXCHANGE, SuiteConfig, load_failure, run_suite


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="implus-conformance", description=_sentence(__doc__.split("\n\n")[0].split(": ", 1)[1]),
                                epilog="Give the suite an exchange of its own. Exit: 0 pass, 1 fail, 2 could not run.")
    p.add_argument("--amqp-url", default=DEFAULT_AMQP_URL, help="RabbitMQ URL (env IMPLUS_AMQP_URL; default %(default)s)")
    p.add_argument("--exchange", default=None, help="the exchange the server under test serves (env IMPLUS_EXCHANGE; "
                                                    f"default {DEFAULT_EXCHANGE}; client mode: a fresh one)")
    p.add_argument("--seed", type=int, default=None, help="hypothesis seed (default: random, printed for replay)")
    p.add_argument("--junit-xml", metavar="FILE", help="write JUnit XML, one testcase per check")
    p.add_argument("--json-report", metavar="FILE", help="write a JSON report (with the requirement coverage)")
    p.add_argument("--save-failure", metavar="FILE", help="where to save the failing step sequence "
                                                          "(default implus-failure-<seed>.json when a MUST fails)")
    p.add_argument("--no-save-failure", action="store_true", help="do not write a failure file")
    p.add_argument("--replay", metavar="FILE", help="rerun exactly the steps of a saved failure file")
    p.add_argument("--server-cmd", metavar="CMD", help="start the server under test with this shell command "
                                                       "({exchange}, {amqp_url} replaced); enables restart checks")
    p.add_argument("--start-timeout", type=float, default=30.0, help="seconds a started server or client may take "
                                                                     "to answer (default %(default)s)")
    p.add_argument("--client-cmd", metavar="CMD", help="check a client: start it with this shell command "
                                                       "({exchange} replaced), the suite plays the server")
    p.add_argument("--client-send-cmd", metavar="CMD", help="client mode: a command that sends {text} to {peer} "
                                                            "and leaves ({exchange}, {peer}, {text} replaced)")
    p.add_argument("--max-examples", type=int, default=10, help="hypothesis examples (default %(default)s)")
    p.add_argument("--max-steps", type=int, default=15, help="steps per example (default %(default)s)")
    p.add_argument("--timeout", type=float, default=None, help="seconds to wait for what must arrive (default 3)")
    p.add_argument("--quiet-window", type=float, default=None, help="seconds to listen for what must not arrive "
                                                                    "(default 0.3)")
    p.add_argument("--shrink-time", type=float, default=30.0, help="seconds to spend shrinking a failure; 0 disables (default %(default)s)")
    p.add_argument("--strict", action="store_true", help="SHOULD checks count too")
    p.add_argument("-v", "--verbose", action="store_true", help="per-check detail and hypothesis's own output")
    return p


def main(argv: list[str] | None = None) -> int:
    p = build_parser()
    args = p.parse_args(argv)
    logging.getLogger("pika").setLevel(logging.CRITICAL)
    for name in ("max_examples", "max_steps"):
        if getattr(args, name) < 1:
            print(f"implus-conformance: error: --{name.replace('_', '-')} must be at least 1", file=sys.stderr)
            return 2
    if args.client_send_cmd and not args.client_cmd:
        p.error("--client-send-cmd needs --client-cmd")
    if args.client_cmd and (args.replay or args.server_cmd):
        p.error("--client-cmd checks a client: it does not go with --replay or --server-cmd")
    if args.client_cmd:
        return _client_main(args)
    replay = None
    if args.replay:
        try:
            replay = load_failure(args.replay)
        except (OSError, ValueError) as exc:
            print(f"implus-conformance: error: --replay: {exc}", file=sys.stderr)
            return 2
    saved = (replay or {}).get("settings", {})
    config = SuiteConfig(amqp_url=args.amqp_url, exchange=args.exchange or DEFAULT_EXCHANGE, seed=args.seed,
                         max_examples=args.max_examples, max_steps=args.max_steps,
                         strict=args.strict or bool(saved.get("strict")), verbose=args.verbose,
                         timeout=args.timeout if args.timeout is not None else float(saved.get("timeout", 3.0)),
                         quiet=args.quiet_window if args.quiet_window is not None else float(saved.get("quiet", 0.3)),
                         shrink_time=args.shrink_time, server_cmd=args.server_cmd, start_timeout=args.start_timeout,
                         replay=replay)
    report = run_suite(config)
    failure_file = None
    must_failed = any(r.grade == "FAIL" and r.check.level == "MUST" for r in report.results)
    if not args.no_save_failure and not args.replay and (args.save_failure or must_failed):
        try:
            failure_file = save_failure(report, args.save_failure or f"implus-failure-{report.seed}.json")
        except OSError as exc:
            print(f"implus-conformance: could not save the failure: {exc}", file=sys.stderr)
    print(summary(report, verbose=args.verbose, failure_file=failure_file))
    write_outputs(report, args.junit_xml, args.json_report, failure_file)
    if report.error:
        return 2
    return 0 if report.passed else 1


def _client_main(args: argparse.Namespace) -> int:
    from .client_suite import ClientConfig, run_client_suite

    config = ClientConfig(amqp_url=args.amqp_url, exchange=args.exchange, client_cmd=args.client_cmd,
                          send_cmd=args.client_send_cmd, timeout=args.timeout or 3.0,
                          start_timeout=args.start_timeout, strict=args.strict)
    report = run_client_suite(config)
    print(summary(report, verbose=args.verbose))
    write_outputs(report, args.junit_xml, args.json_report)
    if report.error:
        return 2
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
