"""Helpers for tests on the wire: fresh exchanges, a real server subprocess, simple peers."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pika
import redis

ROOT = Path(__file__).resolve().parent.parent
AMQP_URL = os.environ.get("IMPLUS_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
REDIS_URL = os.environ.get("IMPLUS_REDIS_URL", "redis://127.0.0.1:6379/0")


def fresh_exchange(prefix: str = "implus-test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def cleanup_exchange(exchange: str) -> None:
    """Delete what a test run declared for an exchange: the exchange, the server queue, Redis keys."""
    conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        ch = conn.channel()
        ch.queue_delete(f"implus.server.{exchange}")
        ch.exchange_delete(exchange)
    finally:
        conn.close()
    r = redis.Redis.from_url(REDIS_URL)
    keys = list(r.scan_iter(f"implus:{exchange}:*"))
    if keys:
        r.delete(*keys)


def stop_process(proc: subprocess.Popen) -> int:
    """SIGTERM, then SIGKILL after 15 s; the exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


class ServerProcess:
    """A server (the reference one unless told otherwise) as a subprocess, with its log captured."""

    def __init__(self, exchange: str, module: str = "reference_server", extra: list[str] | None = None) -> None:
        self.exchange = exchange
        self.lines: list[str] = []
        self._ready = threading.Event()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, "--exchange", exchange, "--amqp-url", AMQP_URL, "--redis-url", REDIS_URL, *(extra or [])],
            cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            if "serving exchange" in line:
                self._ready.set()

    def wait_ready(self, timeout: float = 30) -> "ServerProcess":
        if not self._ready.wait(timeout):
            self.stop()
            raise RuntimeError("server did not start:\n" + "\n".join(self.lines))
        return self

    def log(self) -> str:
        return "\n".join(self.lines)

    def stop(self) -> int:
        return stop_process(self.proc)


class Peer:
    """A bare protocol peer: its own queue bound to its user_id; publishes raw bodies; collects deliveries."""

    def __init__(self, exchange: str, user_id: str | None = None) -> None:
        self.exchange = exchange
        self.user_id = user_id or uuid.uuid4().hex
        self.queue_name = "user_q" + self.user_id
        self.conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        self.ch = self.conn.channel()
        self.ch.exchange_declare(exchange, exchange_type="direct", durable=True)
        self.ch.queue_declare(self.queue_name, durable=True)
        self.ch.queue_bind(self.queue_name, exchange, routing_key=self.user_id)

    def publish(self, routing_key: str, body: bytes | dict) -> None:
        if isinstance(body, dict):
            body = json.dumps(body).encode()
        self.ch.basic_publish(self.exchange, routing_key, body,
                              pika.BasicProperties(content_type="application/json", delivery_mode=2))

    def receive(self, timeout: float = 5.0) -> tuple[pika.BasicProperties, bytes] | None:
        """The next delivery on this peer's queue, or None after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            method, props, body = self.ch.basic_get(self.queue_name, auto_ack=True)
            if method is not None:
                return props, body
            if time.monotonic() > deadline:
                return None
            self.conn.sleep(0.02)

    def receive_json(self, timeout: float = 5.0) -> dict | None:
        got = self.receive(timeout)
        return None if got is None else json.loads(got[1])

    def drain(self, quiet: float = 0.3) -> list[bytes]:
        out = []
        while True:
            got = self.receive(quiet)
            if got is None:
                return out
            out.append(got[1])

    def close(self) -> None:
        try:
            self.ch.queue_delete(self.queue_name)
            self.conn.close()
        except pika.exceptions.AMQPError:
            pass


def tap(exchange: str, routing_key: str) -> tuple[pika.BlockingConnection, str]:
    """An exclusive queue that copies everything published with routing_key (a direct exchange fans out)."""
    conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    ch = conn.channel()
    ch.exchange_declare(exchange, exchange_type="direct", durable=True)
    q = ch.queue_declare("", exclusive=True, auto_delete=True).method.queue
    ch.queue_bind(q, exchange, routing_key=routing_key)
    return conn, q
