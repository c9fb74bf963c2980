"""The reference server: a thin transport shell (pika, redis) around implus_proto.

Each protocol decision is one overridable method, so a test can build a server that breaks
exactly one rule (tests/broken_servers.py) and prove the conformance suite catches it.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

import pika
import pika.exceptions
import redis

from implus_proto import Codec, NormalToServer, Offline, Online, ProtocolError, default_codec, default_schemas
from implus_proto.errors import redact_url, root_cause
from implus_proto.messages import ClientList, NormalToClient
from implus_proto.presence import Registered, client_list_for, forward, registered_from_online, routing_key_allowed

from .store import PresenceStore

log = logging.getLogger("implus.server")

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_EXCHANGE = "CJYFFFIM"
CLIENT_ROUTING_KEYS = ("server", "system")
JSON = "application/json"
PERSISTENT = 2
# the most entries one client_list may hold, from the schema (MSG-11)
MAX_CLIENTS = int(default_schemas().by_class["ClientList"].schema["properties"]["message"]["maxItems"])


@dataclass(frozen=True)
class ServerConfig:
    amqp_url: str = os.environ.get("IMPLUS_AMQP_URL", DEFAULT_AMQP_URL)
    redis_url: str = os.environ.get("IMPLUS_REDIS_URL", DEFAULT_REDIS_URL)
    exchange: str = os.environ.get("IMPLUS_EXCHANGE", DEFAULT_EXCHANGE)
    queue: str | None = None  # default: implus.server.<exchange>
    reset_presence: bool = False
    prefetch: int = 64
    max_clients: int = MAX_CLIENTS

    @property
    def queue_name(self) -> str:
        return self.queue or f"implus.server.{self.exchange}"


class StartupError(RuntimeError):
    """The server cannot start (broker or Redis unreachable); the message says what to do."""


class ReferenceServer:
    def __init__(self, config: ServerConfig, codec: Codec | None = None) -> None:
        self.config = config
        self.codec = codec or default_codec()
        self._stopping = False
        self.connection: pika.BlockingConnection | None = None
        self.channel = None
        try:
            client = redis.Redis.from_url(config.redis_url, socket_connect_timeout=5)
            client.ping()
        except (redis.RedisError, ValueError) as exc:
            raise StartupError(f"cannot reach Redis at {config.redis_url}: {exc}") from None
        self.store = PresenceStore(client, config.exchange)
        if config.reset_presence:
            self.store.reset()
            log.info("presence of exchange %s reset (id counter kept)", config.exchange)

    # -- the protocol: one decision per method -------------------------------------------
    def handle(self, routing_key: str, body: bytes) -> None:
        """Decode and dispatch one delivery. Bad input is logged once and dropped, never raised."""
        try:
            message = self.codec.decode(body, direction="client-to-server")
        except ProtocolError as exc:
            log.warning("rejected a %d-byte message on routing key %r: %s", len(body), routing_key, _issues(exc))
            return
        self.dispatch(routing_key, message)

    def dispatch(self, routing_key: str, message: object) -> None:
        """Act on one decoded message: refuse it on a routing key its type does not use, else handle it."""
        if not routing_key_allowed(message, routing_key):
            log.warning("rejected a %s message on routing key %r: it goes on %s [%s]", message.TYPE, routing_key,
                        " or ".join(repr(k) for k in self.codec.spec_of_class[type(message)].routing_keys),
                        "TOP-2" if isinstance(message, NormalToServer) else "TOP-3")
            return
        if isinstance(message, Online):
            self.on_online(message)
        elif isinstance(message, Offline):
            self.on_offline(message)
        elif isinstance(message, NormalToServer):
            self.on_normal(message)
        else:  # unreachable while only these three go client-to-server; kept for new types
            log.warning("ignored a %s message on routing key %r: not for the server", type(message).__name__, routing_key)

    def on_online(self, msg: Online) -> None:
        # the registry lookup only when full: a repeated online is no newcomer and is never refused
        if self.store.count() >= self.config.max_clients and self.store.get(msg.user_id) is None:
            log.warning("refused the online of %r: %d clients are online, the most this server takes [PRES-8]",
                        msg.from_, self.config.max_clients)
            return
        rec, new = self.store.register(*self._identity(msg))
        try:  # the list must still fit one client_list body, or nobody would get one again
            self.codec.encode(self.make_client_list(rec, self.store.all(), self.now()))
        except ProtocolError as exc:
            if new:
                self.store.unregister(rec.user_id)
            log.warning("refused the online of %r: the client list would break its limits (%s) [PRES-8]", rec.name, exc)
            return
        if new:
            log.info("online: %r is id %d", rec.name, rec.id)
        else:
            log.info("online again: %r keeps id %d", rec.name, rec.id)
        self.broadcast_client_list(exclude=None)

    def on_offline(self, msg: Offline) -> None:
        rec = self.store.unregister(msg.user_id)
        if rec is None:
            log.warning("offline from a user_id that is not online (%r): ignored", msg.from_)
            return
        log.info("offline: %r (id %d)", rec.name, rec.id)
        self.broadcast_client_list(exclude=rec.user_id)

    def on_normal(self, msg: NormalToServer) -> None:
        sender = self.store.get(msg.user_id)
        if sender is None:
            log.warning("not forwarded: a normal message from a user_id that is not online (claims %r)", msg.from_)
            return
        recipient = self.store.by_id(msg.destination_id)
        if recipient is None:
            log.warning("not forwarded: %r (id %d) wrote to id %d, which is not online", sender.name, sender.id, msg.destination_id)
            return
        self.send_forward(msg, sender, recipient)

    def send_forward(self, msg: NormalToServer, sender: Registered, recipient: Registered) -> None:
        """Publish the forward of a chat message both ends of which are online."""
        if self.publish(recipient.user_id, self.make_forward(msg, sender, recipient)) is not False:
            log.info("forwarded a message from id %d to id %d", sender.id, recipient.id)
        else:
            log.warning("not forwarded: id %d has no queue bound to its routing key", recipient.id)
            self.drop_unreachable([recipient])

    def broadcast_client_list(self, exclude: str | None) -> None:
        online = self.store.all()
        now = self.now()
        unreachable = []
        for recipient in online:
            if recipient.user_id != exclude:
                # `is False`: a subclass's publish may return None, which says nothing about routing
                if self.publish(recipient.user_id, self.make_client_list(recipient, online, now)) is False:
                    unreachable.append(recipient)
        self.drop_unreachable(unreachable)

    def drop_unreachable(self, clients: list[Registered]) -> None:
        """Clients whose routing key has no queue cannot be online (TOP-4): forget them, tell the rest (PRES-7)."""
        gone = [c for c in clients if self.store.unregister(c.user_id) is not None]
        for c in gone:
            log.warning("dropped %r (id %d): no queue is bound to its routing key [PRES-7]", c.name, c.id)
        if gone:
            self.broadcast_client_list(exclude=None)

    def make_client_list(self, recipient: Registered, online: list[Registered], now: int) -> ClientList:
        return client_list_for(recipient, online, now)

    def make_forward(self, msg: NormalToServer, sender: Registered, recipient: Registered) -> NormalToClient:
        return forward(msg, sender, recipient)

    def _identity(self, msg: Online) -> tuple[str, str, str, str]:
        rec = registered_from_online(msg, 0)
        return rec.user_id, rec.name, rec.public_key, rec.key_field

    def now(self) -> int:
        return int(time.time())

    # -- transport -----------------------------------------------------------------------
    def publish(self, routing_key: str, message) -> bool:
        """Publish one message; False if no queue is bound to the routing key."""
        return self.publish_raw(routing_key, self.codec.encode(message))

    def publish_raw(self, routing_key: str, body: bytes) -> bool:
        assert self.channel is not None
        try:
            self.channel.basic_publish(
                exchange=self.config.exchange,
                routing_key=routing_key,
                body=body,
                properties=pika.BasicProperties(content_type=JSON, delivery_mode=PERSISTENT),
                mandatory=True,
            )
        except pika.exceptions.UnroutableError:
            return False
        return True

    def connect(self) -> None:
        try:
            params = pika.URLParameters(self.config.amqp_url)
            params.heartbeat = 30
            params.blocked_connection_timeout = 60
            self.connection = pika.BlockingConnection(params)
        except (pika.exceptions.AMQPError, ValueError, OSError) as exc:  # OSError: e.g. an unknown host name
            raise StartupError(f"cannot reach RabbitMQ at {redact_url(self.config.amqp_url)}: {root_cause(exc)}") from None
        channel = self.connection.channel()
        try:
            channel.exchange_declare(self.config.exchange, exchange_type="direct", durable=True)
        except pika.exceptions.ChannelClosedByBroker as exc:
            self.connection.close()
            raise StartupError(f"cannot use exchange {self.config.exchange!r}: {exc.reply_text} "
                               "(IMPlus needs a durable direct exchange; pick another --exchange)") from None
        channel.queue_declare(self.config.queue_name, durable=True)
        for key in CLIENT_ROUTING_KEYS:
            channel.queue_bind(self.config.queue_name, self.config.exchange, routing_key=key)
        channel.confirm_delivery()
        channel.basic_qos(prefetch_count=self.config.prefetch)
        self.channel = channel

    def stop(self) -> None:
        """Ask the consume loop to finish (safe from a signal handler)."""
        self._stopping = True

    def serve(self) -> None:
        """Consume until stop(); reconnects when the broker goes away."""
        first = True
        while not self._stopping:
            try:
                if self.channel is None or self.connection is None or self.connection.is_closed:
                    self.connect()
                if first:
                    log.info("serving exchange %s (queue %s)", self.config.exchange, self.config.queue_name)
                    first = False
                self._consume()
            except StartupError:
                if first:
                    raise
                log.error("broker unreachable; retrying in 2 s")
                time.sleep(2)
            except (pika.exceptions.AMQPConnectionError, pika.exceptions.ChannelClosed,
                    pika.exceptions.StreamLostError, pika.exceptions.ConnectionClosed) as exc:
                log.error("lost the broker (%r); reconnecting", exc)
                self.channel = None
                time.sleep(1)
        self._close()

    def _consume(self) -> None:
        assert self.channel is not None
        for method, properties, body in self.channel.consume(self.config.queue_name, inactivity_timeout=0.5):
            if self._stopping:
                break
            if method is None:
                continue
            try:
                self.handle(method.routing_key, body)
            except redis.RedisError as exc:
                log.error("Redis failed (%s); the message goes back to the queue", exc)
                self.channel.basic_nack(method.delivery_tag, requeue=True)
                time.sleep(1)
                continue
            except (pika.exceptions.AMQPError, ConnectionError):
                raise
            except Exception:  # a bug must not take the server down, nor loop on one message
                log.exception("internal error on a %d-byte message on routing key %r; dropped", len(body), method.routing_key)
            self.channel.basic_ack(method.delivery_tag)
        self.channel.cancel()

    def _close(self) -> None:
        try:
            if self.connection is not None and self.connection.is_open:
                self.connection.close()
        except pika.exceptions.AMQPError:
            pass
        log.info("stopped")


def _issues(exc: ProtocolError) -> str:
    return "; ".join(str(i) for i in exc.issues[:5]) + (f"; and {len(exc.issues) - 5} more" if len(exc.issues) > 5 else "")
