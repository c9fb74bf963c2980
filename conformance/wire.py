"""The suite's side of the broker: one pika connection, one channel, one consumer per simulated
client queue (user_q<user_id> bound to <user_id>). Single-threaded: pika's BlockingConnection
is not thread-safe, so everything runs on the caller's thread and deliveries are collected by
pumping the connection while waiting."""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Callable

import pika
import pika.exceptions

JSON = "application/json"
PERSISTENT = 2


@dataclass
class Delivery:
    user_id: str  # whose queue it arrived in
    routing_key: str
    body: bytes
    content_type: str | None
    delivery_mode: int | None
    at: float


class Bus:
    def __init__(self, amqp_url: str, exchange: str) -> None:
        self.amqp_url = amqp_url
        self.exchange = exchange
        params = pika.URLParameters(amqp_url)
        params.heartbeat = 60
        self.connection = pika.BlockingConnection(params)
        self.channel = self.connection.channel()
        self.inbox: dict[str, list[Delivery]] = {}
        self.history: list[Delivery] = []  # every delivery, for failure reports
        self.sent: list[tuple[str, bytes]] = []  # every publish (routing key, body), for failure reports
        self._tags: dict[str, str] = {}

    def declare_exchange(self) -> None:
        """Declare the exchange as the spec says (TOP-1); raises if it exists with another type."""
        self.channel.exchange_declare(self.exchange, exchange_type="direct", durable=True)

    @staticmethod
    def queue_name(user_id: str) -> str:
        return f"user_q{user_id}"

    def open_queue(self, user_id: str) -> None:
        q = self.queue_name(user_id)
        self.channel.queue_declare(q, durable=True)
        self.channel.queue_bind(q, self.exchange, routing_key=user_id)
        self.inbox.setdefault(user_id, [])

        def on_message(ch, method, props, body, _uid=user_id):
            d = Delivery(_uid, method.routing_key, body, props.content_type, props.delivery_mode, time.monotonic())
            self.inbox.setdefault(_uid, []).append(d)
            self.history.append(d)

        self._tags[user_id] = self.channel.basic_consume(q, on_message_callback=on_message, auto_ack=True)

    def close_queue(self, user_id: str) -> None:
        tag = self._tags.pop(user_id, None)
        if tag is not None:
            self.channel.basic_cancel(tag)
        self.channel.queue_delete(self.queue_name(user_id))
        self.inbox.pop(user_id, None)

    def publish(self, routing_key: str, body: bytes, *, content_type: str | None = JSON) -> None:
        self.sent.append((routing_key, body))
        self.channel.basic_publish(
            self.exchange, routing_key, body,
            properties=pika.BasicProperties(content_type=content_type, delivery_mode=PERSISTENT),
        )

    def pump(self, seconds: float) -> None:
        pump(self.connection, seconds, step=0.02)

    def wait(self, done: Callable[[], bool], timeout: float) -> bool:
        """Pump until done() holds or timeout seconds pass; True if done."""
        return wait_until(self.connection, done, timeout, step=0.01)

    def take(self, user_id: str) -> list[Delivery]:
        got = self.inbox.get(user_id, [])
        self.inbox[user_id] = []
        return got

    def take_all(self) -> list[Delivery]:
        out: list[Delivery] = []
        for uid in list(self.inbox):
            out.extend(self.take(uid))
        return out

    def close(self) -> None:
        for uid in list(self._tags):
            try:
                self.close_queue(uid)
            except pika.exceptions.AMQPError:
                pass
        try:
            if self.connection.is_open:
                self.connection.close()
        except pika.exceptions.AMQPError:
            pass


_PEM = re.compile(r"-----BEGIN RSA PUBLIC KEY-----.*?-----END RSA PUBLIC KEY-----\s*", re.S)


def _shorten(value: object, limit: int) -> object:
    if isinstance(value, str):
        if _PEM.fullmatch(value):
            return f"<RSA public key PEM ...{value.strip()[-38:-30]}>"
        return value if len(value) <= limit else f"{value[: limit - 12]}...({len(value)} chars)"
    if isinstance(value, list):
        return [_shorten(v, limit) for v in value[:6]] + ([f"...({len(value)} items)"] if len(value) > 6 else [])
    if isinstance(value, dict):
        return {k: _shorten(v, limit) for k, v in value.items()}
    return value


def shorten_body(body: bytes, limit: int = 600) -> str:
    """A body for a failure report: JSON with long strings and keys abbreviated, else its bytes shortened."""
    try:
        obj = json.loads(body)
        text = json.dumps(_shorten(obj, 48), ensure_ascii=False, separators=(",", ":"))
    except (ValueError, RecursionError):
        text = repr(body[:limit])
    return text if len(text) <= limit else text[: limit - 12] + f"...({len(body)} bytes)"


def pump(connection: pika.BlockingConnection, seconds: float, step: float) -> None:
    """Deliver whatever arrives for `seconds` (consumer callbacks run in here)."""
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        connection.process_data_events(time_limit=max(0.0, min(left, step)))
        if left <= 0:
            return


def wait_until(connection: pika.BlockingConnection, done: Callable[[], bool], timeout: float, step: float) -> bool:
    """Deliver until done() holds or timeout seconds pass; True if done."""
    end = time.monotonic() + timeout
    while not done():
        if time.monotonic() >= end:
            return False
        connection.process_data_events(time_limit=step)
    return True
