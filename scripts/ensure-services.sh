#!/usr/bin/env bash
# Make sure the RabbitMQ and Redis that IMPlus talks to are up.
# Starts a local service that is installed but stopped; says how to install one that is missing.
# Only local URLs are managed: a remote broker or Redis is the operator's business.
set -u

AMQP_URL="${IMPLUS_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/}"
REDIS_URL="${IMPLUS_REDIS_URL:-redis://127.0.0.1:6379/0}"

# host and port out of scheme://[user:pass@]host[:port]/...
host_of() { local rest="${1#*://}"; rest="${rest##*@}"; rest="${rest%%/*}"; echo "${rest%%:*}"; }
port_of() { local rest="${1#*://}"; rest="${rest##*@}"; rest="${rest%%/*}"; [[ "$rest" == *:* ]] && echo "${rest##*:}" || echo "$2"; }

is_local() { [[ "$1" == "127.0.0.1" || "$1" == "localhost" || "$1" == "::1" ]]; }

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_port() { # host port seconds
    local i
    for ((i = 0; i < $3 * 4; i++)); do port_open "$1" "$2" && return 0; sleep 0.25; done
    return 1
}

fail=0

ensure() { # name host port install-hint start-command...
    local name="$1" host="$2" port="$3" hint="$4"; shift 4
    if port_open "$host" "$port"; then
        echo "ensure-services: $name is up at $host:$port"
        return 0
    fi
    if ! is_local "$host"; then
        echo "ensure-services: ERROR: $name at $host:$port does not answer, and it is not local, so it is not started here." >&2
        fail=1; return 1
    fi
    if ! command -v "$1" >/dev/null 2>&1; then
        echo "ensure-services: ERROR: $name is not installed (no '$1' on PATH)." >&2
        echo "ensure-services:   install it with: $hint" >&2
        fail=1; return 1
    fi
    echo "ensure-services: $name is installed but stopped; starting it: $*"
    "$@" >/dev/null 2>&1 || true
    if wait_port "$host" "$port" 90; then
        echo "ensure-services: $name is up at $host:$port"
    else
        echo "ensure-services: ERROR: started '$*' but $name still does not answer at $host:$port." >&2
        fail=1
    fi
}

ensure RabbitMQ "$(host_of "$AMQP_URL")" "$(port_of "$AMQP_URL" 5672)" \
    "sudo apt-get update && sudo apt-get install -y rabbitmq-server   (Debian/Ubuntu; macOS: brew install rabbitmq)" \
    rabbitmq-server -detached

ensure Redis "$(host_of "$REDIS_URL")" "$(port_of "$REDIS_URL" 6379)" \
    "sudo apt-get update && sudo apt-get install -y redis-server   (Debian/Ubuntu; macOS: brew install redis)" \
    redis-server --daemonize yes --bind 127.0.0.1 --port "$(port_of "$REDIS_URL" 6379)" --save "" --appendonly no

# The AMQP port opens before the broker accepts logins: wait until it really serves.
if [[ $fail -eq 0 ]] && command -v rabbitmq-diagnostics >/dev/null 2>&1 && is_local "$(host_of "$AMQP_URL")"; then
    for _ in $(seq 1 60); do
        rabbitmq-diagnostics -q check_running >/dev/null 2>&1 && break
        sleep 1
    done
fi
exit $fail
