"""One IMPlus client on one exchange: its queue, its presence, sending and receiving.

The client is at the edge of the system: it owns the AMQP connection (pika) and reads the
clock; everything about the protocol itself (message shapes, validation, encryption, key
spellings) comes from implus_proto.

A Session is used by exactly one thread (pika is not thread-safe). Callers that need a
second thread (the interactive terminal) hand work to the owning thread with `submit`.
"""
from __future__ import annotations

import logging
import os
import re
import time
import uuid
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit, urlunsplit

import pika
import pika.exceptions

import implus_proto as proto
from implus_proto.strictjson import parse

log = logging.getLogger("implus.client")

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_EXCHANGE = "CJYFFFIM"
CONTENT_TYPE = "application/json"
PERSISTENT = 2  # AMQP delivery_mode for persistent messages (TOP-6)


def _routing_key(kind: type) -> str:
    """The fixed routing key a client-to-server message goes on, read from its schema (TOP-2, TOP-3)."""
    return proto.default_schemas().by_class[kind.__name__].routing_keys[0]


PRESENCE_KEY = _routing_key(proto.Online)  # 'system'
CHAT_KEY = _routing_key(proto.NormalToServer)  # 'server'
QUEUE_PREFIX = "user_q"  # TOP-4: a client's queue is user_q<user_id>, bound to <user_id>

# control characters, and the invisible format characters that reorder or break a terminal line
# (bidi overrides and isolates, line and paragraph separators): shown escaped, never raw
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """Text with control characters shown as escapes, so that it prints as one harmless line."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def mask_url(url: str) -> str:
    """An AMQP URL with its password hidden, for error messages."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.rsplit("@", 1)[1]
        user = parts.username or ""
        return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))
    except ValueError:
        return "<the given AMQP URL>"


class ClientError(Exception):
    """A failure the user must be told about in one line (no traceback)."""


@dataclass(frozen=True, slots=True)
class Peer:
    """One online client as the latest client_list shows it."""

    id: int
    name: str
    key: str  # PEM

    def __str__(self) -> str:
        return f"{printable(self.name)} [{self.id}]"


@dataclass(frozen=True)
class Config:
    name: str
    amqp_url: str = DEFAULT_AMQP_URL
    exchange: str = DEFAULT_EXCHANGE
    key_field: str = proto.KEY_FIELDS[0]
    key_bits: int = 1024
    user_id: str | None = None  # tests only; normally a fresh uuid4


def _receivable_directions() -> dict[str, str]:
    """type -> direction for the messages a client may receive (from the schemas)."""
    out: dict[str, str] = {}
    for spec in proto.default_schemas().specs:
        if spec.direction != "client-to-server":
            out[spec.type] = spec.direction
    return out


class Session:
    """A client's connection, queue and view of who is online.

    Callbacks (all run in the owning thread):
      on_list(peers, came, left)   after every valid client_list (came/left: lists of Peer)
      on_message(peer_name, from_id, text)   a decrypted chat message
      on_warning(text)             one-line warning about bad input from the wire
    """

    def __init__(
        self,
        config: Config,
        *,
        on_list: Callable[[dict[int, Peer], list[Peer], list[Peer]], None] | None = None,
        on_message: Callable[[str, int, str], None] | None = None,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        if config.key_field not in proto.KEY_FIELDS:
            raise ClientError(f"--key-field must be one of {', '.join(proto.KEY_FIELDS)}")
        self.config = config
        self.user_id = config.user_id or uuid.uuid4().hex
        self.queue = QUEUE_PREFIX + self.user_id
        try:
            self.public_key, self.private_key = proto.generate_keypair(config.key_bits)
        except proto.CryptoError as exc:
            raise ClientError(f"cannot make a key pair: {exc.reason}") from None
        self.pem = proto.public_key_pem(self.public_key)
        self.on_list = on_list or (lambda peers, came, left: None)
        self.on_message = on_message or (lambda name, from_id, text: None)
        self.on_warning = on_warning or (lambda text: None)
        self.peers: dict[int, Peer] = {}
        self.own_id: int | None = None
        self._copies_warned: list[int] = []
        self.lists_seen = 0
        self.connection: pika.BlockingConnection | None = None
        self.channel: Any = None  # consumes the client's queue
        self.pub_channel: Any = None  # publishes, with confirms; reopened if a refused publish closes it
        self.online = False
        self.self_offline_sent = False
        self.self_offline_seen = False
        self.cancelled = False
        self._directions = _receivable_directions()
        self._codec = proto.default_codec()

    # -- connection ------------------------------------------------------------------------
    def open(self) -> None:
        """Connect, declare the exchange (TOP-1) and bind the client's queue (TOP-4)."""
        url = self.config.amqp_url
        try:
            params = pika.URLParameters(url)
            # Shown by the broker's tools (rabbitmqctl list_connections client_properties).
            params.client_properties = {"connection_name": f"implus-client {self.config.name} pid {os.getpid()}"}
        except Exception as exc:  # pika raises assorted errors on a malformed URL
            raise ClientError(f"bad AMQP URL {mask_url(url)}: {exc}") from None
        try:
            self.connection = pika.BlockingConnection(params)
        except pika.exceptions.ProbableAuthenticationError:
            raise ClientError(f"the broker at {mask_url(url)} refused the credentials") from None
        except pika.exceptions.ProbableAccessDeniedError:
            raise ClientError(f"the broker at {mask_url(url)} denied access to the virtual host") from None
        except (pika.exceptions.AMQPError, OSError) as exc:
            raise ClientError(f"cannot reach the broker at {mask_url(url)}: {_describe(exc)}") from None
        ex = self.config.exchange
        try:
            self.channel = self.connection.channel()
            self.channel.exchange_declare(exchange=ex, exchange_type="direct", durable=True)
            self.channel.queue_declare(queue=self.queue, durable=True)
            self.channel.queue_bind(queue=self.queue, exchange=ex, routing_key=self.user_id)
            self.channel.basic_qos(prefetch_count=64)
            self.channel.basic_consume(queue=self.queue, on_message_callback=self._on_delivery)
            self.channel.add_on_cancel_callback(self._on_cancel)
            self.pub_channel = self.connection.channel()
            self.pub_channel.confirm_delivery()
        except pika.exceptions.ChannelClosedByBroker as exc:
            self._close_quietly()
            hint = " (an exchange or queue of that name exists with other properties)" if exc.reply_code == 406 else ""
            raise ClientError(
                f"the broker refused to set up exchange {ex} and queue {self.queue}{hint}: "
                f"{exc.reply_code} {exc.reply_text}"
            ) from None
        except (pika.exceptions.AMQPError, OSError) as exc:
            self._close_quietly()
            raise ClientError(f"lost the connection to the broker: {_describe(exc)}") from None
        log.debug("queue %s bound to exchange %s", self.queue, ex)

    def pump(self, seconds: float) -> None:
        """Process deliveries for up to `seconds` (runs the callbacks)."""
        assert self.connection is not None
        try:
            self.connection.process_data_events(time_limit=seconds)
        except (pika.exceptions.AMQPError, OSError) as exc:
            raise ClientError(f"lost the connection to the broker: {_describe(exc)}") from None
        if self.channel is None or not self.channel.is_open:
            raise ClientError(f"the broker closed the channel that consumes queue {self.queue}")
        if self.cancelled:
            raise ClientError(f"the broker stopped delivering from queue {self.queue} (was it deleted?)")

    def _on_cancel(self, frame: Any) -> None:
        self.cancelled = True

    def wait_for(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Pump until condition() holds or timeout seconds pass; returns condition()."""
        deadline = time.monotonic() + timeout
        while not condition():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.pump(min(left, 0.2))
        return True

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Run fn(*args) in the thread that owns the connection; returns its Future."""
        assert self.connection is not None
        fut: Future = Future()

        def run() -> None:
            if not fut.set_running_or_notify_cancel():
                return
            try:
                fut.set_result(fn(*args))
            except BaseException as exc:  # handed to the caller's thread
                fut.set_exception(exc)

        self.connection.add_callback_threadsafe(run)
        return fut

    # -- publishing --------------------------------------------------------------------------
    def _publish(self, routing_key: str, message: proto.Message, *, mandatory: bool = True) -> None:
        body = proto.encode(message)
        props = pika.BasicProperties(content_type=CONTENT_TYPE, delivery_mode=PERSISTENT)
        self._ensure_channel()
        try:
            self.pub_channel.basic_publish(
                exchange=self.config.exchange, routing_key=routing_key, body=body,
                properties=props, mandatory=mandatory,
            )
        except pika.exceptions.UnroutableError:
            if routing_key == PRESENCE_KEY:  # nothing is bound to 'system': no server was ever there
                raise ClientError(
                    f"no server answered on exchange {self.config.exchange}: nothing consumes its "
                    f"{PRESENCE_KEY!r} routing key (is a server running?)"
                ) from None
            if routing_key == CHAT_KEY:
                raise ClientError(f"no server is consuming on exchange {self.config.exchange}") from None
            raise ClientError(f"nothing is bound to routing key {routing_key!r} on exchange {self.config.exchange}") from None
        except pika.exceptions.ChannelClosedByBroker as exc:
            raise ClientError(
                f"the broker refused the {message.TYPE} message on exchange {self.config.exchange} "
                f"({exc.reply_code} {exc.reply_text})"
            ) from None
        except pika.exceptions.NackError:
            raise ClientError(f"the broker refused the {message.TYPE} message on exchange {self.config.exchange}") from None
        except (pika.exceptions.AMQPError, OSError) as exc:
            raise ClientError(f"lost the connection to the broker: {_describe(exc)}") from None

    @staticmethod
    def now() -> int:
        return int(time.time())

    def go_online(self) -> None:
        """Announce this client and its key (ONL-1) on `system`, after the queue is bound."""
        msg = proto.Online(
            from_=self.config.name, user_id=self.user_id, created_at=self.now(),
            message=proto.with_key(self.config.key_field, self.pem),
        )
        self._publish(PRESENCE_KEY, msg)
        self.online = True
        log.info("online as %s on exchange %s (queue %s)", self.config.name, self.config.exchange, self.queue)

    def peer(self, peer_id: int) -> Peer:
        found = self.peers.get(peer_id)
        if found is None:
            raise ClientError(f"no online user has id {peer_id} (type cl to list them)")
        return found

    def find(self, name: str) -> Peer | None:
        """The online user with this name; ClientError if several share it (names are not unique,
        MSG-4, and prove nothing: picking one would let anyone take a name and read what was meant
        for another)."""
        named = sorted((p for p in self.peers.values() if p.name == name and p.id != self.own_id), key=lambda p: p.id)
        if len(named) > 1:
            ids = ", ".join(str(p.id) for p in named)
            raise ClientError(f"several online users are named {name!r} (ids {ids}); nothing was sent: "
                              "write to one by id in the interactive mode")
        return named[0] if named else None

    def send(self, peer_id: int, text: str) -> Peer:
        """Encrypt text for a listed user and hand it to the server (NRM-1, ENC-1)."""
        target = self.peer(peer_id)
        try:
            ciphertext = proto.encrypt(text, target.key)
        except proto.CryptoError as exc:
            raise ClientError(f"cannot send to {target}: {exc.reason}") from None
        msg = proto.NormalToServer(
            from_=self.config.name, user_id=self.user_id, destination=target.name,
            destination_id=target.id, created_at=self.now(), message=ciphertext,
        )
        try:
            self._publish(CHAT_KEY, msg)
        except proto.ProtocolError as exc:  # e.g. a body over the size limit
            raise ClientError(f"cannot send to {target}: {exc}") from None
        return target

    def close(self, settle: float = 2.0) -> None:
        """Leave: offline to the server, self_offline to our own queue, then delete the queue.

        Best effort: what cannot be done any more (the broker is gone) is logged, not raised."""
        if self.connection is None:
            return
        try:
            if not self.connection.is_open:
                return
            consuming = self.channel is not None and self.channel.is_open and not self.cancelled
            if self.online:
                try:
                    self._publish(PRESENCE_KEY, proto.Offline(
                        from_=self.config.name, user_id=self.user_id, created_at=self.now(), message=""))
                except ClientError as exc:
                    log.warning("could not announce going offline: %s", exc)
                self.online = False
            if consuming:  # the seed's way to end the consumer loop
                try:
                    self.self_offline_sent = True
                    self._publish(self.user_id, proto.SelfOffline(
                        from_=self.config.name, user_id=self.user_id, created_at=self.now(), message=""))
                    self.wait_for(lambda: self.self_offline_seen, settle)
                except ClientError as exc:
                    log.debug("self_offline: %s", exc)
            try:
                self._ensure_channel()
                self.pub_channel.queue_delete(queue=self.queue)
            except (ClientError, pika.exceptions.AMQPError, OSError) as exc:
                log.warning("could not delete queue %s: %s", self.queue, _describe(exc))
        finally:
            self._close_quietly()

    def _ensure_channel(self) -> None:
        """A usable channel with publisher confirms (a refused publish closes the old one)."""
        if self.pub_channel is not None and self.pub_channel.is_open:
            return
        if self.connection is None or not self.connection.is_open:
            raise ClientError("lost the connection to the broker")
        try:
            self.pub_channel = self.connection.channel()
            self.pub_channel.confirm_delivery()
        except (pika.exceptions.AMQPError, OSError) as exc:
            raise ClientError(f"lost the connection to the broker: {_describe(exc)}") from None

    def _close_quietly(self) -> None:
        conn, self.connection = self.connection, None
        if conn is not None and conn.is_open:
            try:
                conn.close()
            except Exception:  # closing a broken connection: nothing left to tell the user
                pass

    # -- receiving ---------------------------------------------------------------------------
    def _on_delivery(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        try:
            self.handle(body)
        except Exception as exc:  # never crash on input from the wire (ROB-3)
            log.debug("handler failed", exc_info=True)
            self.on_warning(f"ignored a malformed message: {type(exc).__name__}: {exc}")
        finally:
            try:
                channel.basic_ack(delivery_tag=method.delivery_tag)
            except (pika.exceptions.AMQPError, OSError) as exc:
                log.debug("ack failed: %s", exc)

    def decode(self, body: bytes) -> proto.Message:
        """Parse and validate one body as something a client may receive; ProtocolError if not."""
        codec = self._codec
        obj, problem = parse(body, max_bytes=codec.schemas.max_body_bytes, max_depth=codec.max_depth)
        if problem is not None:
            raise proto.ProtocolError([problem])
        kind = obj.get("type") if isinstance(obj, dict) else None
        direction = self._directions.get(kind, "server-to-client") if isinstance(kind, str) else None
        return codec.from_obj(obj, direction=direction, body_size=len(body))

    def handle(self, body: bytes) -> None:
        """Act on one body from the client's queue; bad input becomes one warning (ROB-3)."""
        try:
            msg = self.decode(body)
        except proto.ProtocolError as exc:
            self.on_warning(f"ignored a malformed message: {exc}")
            return
        if isinstance(msg, proto.ClientList):
            self._on_client_list(msg)
        elif isinstance(msg, proto.NormalToClient):
            self._on_normal(msg)
        elif isinstance(msg, proto.SelfOffline):
            if msg.user_id == self.user_id and self.self_offline_sent:
                self.self_offline_seen = True
            else:
                self.on_warning("ignored a malformed message: a self_offline this client did not send")
        else:  # unreachable with the shipped schemas (decode picks receivable directions only)
            self.on_warning(f"ignored a malformed message: a client does not receive {msg.TYPE} ({msg.DIRECTION})")

    def _on_client_list(self, msg: proto.ClientList) -> None:
        peers = {e.id: Peer(e.id, e.user_name, proto.key_of(e)) for e in msg.message}
        own = sorted(p.id for p in peers.values() if _same_key(p.key, self.public_key))
        old = self.peers
        self.peers = peers
        # Keys are public: another client can go online with a copy of ours. Keep the id we had; a
        # newcomer's first entry with our key is ours (a copy can only follow it), and say so.
        own_id = self.own_id if self.own_id in own else (own[0] if own else None)
        copies = [i for i in own if i != own_id]
        if copies and copies != self._copies_warned:
            self.on_warning(f"other clients (ids {', '.join(map(str, copies))}) use this client's public key; "
                            "messages they send in its name are not from it")
        self._copies_warned = copies
        if own_id is not None and own_id != self.own_id:
            log.info("listed as id %d", own_id)
        self.own_id = own_id
        self.lists_seen += 1
        came = [p for i, p in sorted(peers.items()) if i not in old and i != self.own_id]
        left = [p for i, p in sorted(old.items()) if i not in peers]
        if self.lists_seen == 1:
            came = []  # the first list is who was already there, not who came
        log.debug("client_list: %d online, own id %s", len(peers), self.own_id)
        self.on_list(peers, came, left)

    def _on_normal(self, msg: proto.NormalToClient) -> None:
        try:
            text = proto.decrypt(msg.message, self.private_key)
        except proto.CryptoError as exc:
            self.on_warning(
                f"ignored a malformed message: the message from {printable(msg.from_)} [{msg.from_id}] "
                f"does not decrypt: {exc.reason}"
            )
            return
        self.on_message(msg.from_, msg.from_id, text)


def _same_key(pem: str, key: Any) -> bool:
    try:
        return proto.load_public_key(pem) == key
    except proto.CryptoError:
        return False


def _describe(exc: BaseException) -> str:
    """A short human description of a pika/socket error (pika's str() is often empty or nested)."""
    inner = getattr(exc, "exception", None)  # pika's connector errors wrap the socket error
    if isinstance(inner, BaseException):
        return _describe(inner)
    if isinstance(exc, pika.exceptions.AMQPConnectionError) and exc.args and isinstance(exc.args[0], BaseException):
        return _describe(exc.args[0])
    if isinstance(exc, (pika.exceptions.ConnectionClosed, pika.exceptions.ChannelClosed)):
        return f"the broker closed it ({exc.reply_code} {exc.reply_text})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc).strip()
    if not text or text in ("()", "''"):
        return type(exc).__name__
    return text.splitlines()[0]


__all__ = ["ClientError", "Config", "Peer", "Session", "mask_url", "printable"]
