#!/usr/bin/env bash
# make demo: the reference server on a fresh exchange, bob listens, alice sends him an
# encrypted message, then the conformance suite runs against the same server.
set -euo pipefail
cd "$(dirname "$0")/.."

EXCHANGE="implus-demo-$(date +%s)-$$"
LOG="$(mktemp -d)"
SERVER_PID=""; BOB_PID=""

cleanup() {
    [[ -n "$BOB_PID" ]] && kill "$BOB_PID" 2>/dev/null || true
    if [[ -n "$SERVER_PID" ]]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    python - "$EXCHANGE" <<'PY' || true
import sys, os, pika, redis
ex = sys.argv[1]
conn = pika.BlockingConnection(pika.URLParameters(os.environ.get("IMPLUS_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")))
ch = conn.channel(); ch.queue_delete(f"implus.server.{ex}"); ch.exchange_delete(ex); conn.close()
r = redis.Redis.from_url(os.environ.get("IMPLUS_REDIS_URL", "redis://127.0.0.1:6379/0"))
keys = list(r.scan_iter(f"implus:{ex}:*"))
if keys: r.delete(*keys)
PY
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "starting the reference server on exchange $EXCHANGE"
implus-server --exchange "$EXCHANGE" 2>"$LOG/server.log" &
SERVER_PID=$!
for _ in $(seq 1 100); do grep -q "serving exchange" "$LOG/server.log" && break; sleep 0.1; done
grep -q "serving exchange" "$LOG/server.log" || { cat "$LOG/server.log"; echo "demo: the server did not start" >&2; exit 1; }
sed 's/^/  server: /' "$LOG/server.log"

python scripts/demo_tap.py "$EXCHANGE" >"$LOG/tap.out" 2>&1 &
TAP_PID=$!
for _ in $(seq 1 100); do grep -q "^ready$" "$LOG/tap.out" && break; sleep 0.1; done

step "bob goes online and listens for one message"
implus-client --name bob --exchange "$EXCHANGE" --listen --count 1 --timeout 30 >"$LOG/bob.out" 2>"$LOG/bob.err" &
BOB_PID=$!

step "alice sends bob an end-to-end encrypted message"
implus-client --name alice --exchange "$EXCHANGE" --to bob --timeout 20 "hello bob, this is alice — encrypted end to end ✓"

if wait "$BOB_PID"; then BOB_PID=""; else BOB_PID=""; cat "$LOG/bob.err" >&2; echo "demo: bob did not get the message" >&2; exit 1; fi
wait "$TAP_PID" 2>/dev/null || true
echo "  what crossed the broker (a tap bound to routing key 'server'):"
grep -v '^ready$' "$LOG/tap.out" | sed 's/^/    /'
echo "  bob printed:"
sed 's/^/    /' "$LOG/bob.out"

step "the server's log"
sed 's/^/  server: /' "$LOG/server.log"

step "conformance suite against the running server"
set +e
implus-conformance --exchange "$EXCHANGE"
RC=$?
set -e
echo
if [[ $RC -eq 0 ]]; then
    echo "demo: OK — bob received alice's message decrypted, and the server passes the conformance suite."
else
    echo "demo: the conformance suite FAILED against the server (exit $RC)." >&2
fi
exit $RC
