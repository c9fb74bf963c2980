"""Deliberately broken servers: each is the reference server with exactly one rule broken, so
that tests/test_conformance.py can prove the conformance suite notices (and names the rule).

    python -m tests.broken_servers NAME --exchange X [reference server options]
    python -m tests.broken_servers --broken NAME --exchange X ...

BROKEN maps NAME -> (server class, the requirement ids the suite must report as failed).
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import itertools
import json
import logging
import sys

from implus_proto import ProtocolError
from implus_proto.codec import canonical_json
from implus_proto.messages import ClientList, NormalToClient, NormalToServer, Offline, Online
from implus_proto.presence import KEY_FIELDS, Registered, client_list_for
from reference_server.server import ReferenceServer

log = logging.getLogger("implus.broken")


def _replace(original, /, **changes):
    """A copy of a message with some fields changed (message classes may be dataclasses or msgspec structs)."""
    if dataclasses.is_dataclass(original):
        return dataclasses.replace(original, **changes)
    import msgspec

    return msgspec.structs.replace(original, **changes)


class IdReuse(ReferenceServer):
    """The 2014 bug: a newcomer gets id len(client_list)+1, so ids are reused and collide (ID-1, ID-2)."""

    def __init__(self, config, codec=None):
        super().__init__(config, codec)
        self.store.allocate_id = lambda: len(self.store.all()) + 1


class IdsInMemory(ReferenceServer):
    """Counts ids in the process, not in the store: after a restart they start at 1 again (ID-2).
    Only a restart shows it: run with --server-cmd."""

    def __init__(self, config, codec=None):
        super().__init__(config, codec)
        counter = itertools.count(1)
        self.store.allocate_id = lambda: next(counter)


class WrongRecipient(ReferenceServer):
    """Forwards to the online client after the destination (by id), not to the destination (FWD-1)."""

    def send_forward(self, msg: NormalToServer, sender, recipient) -> None:
        online = self.store.all()
        after = [c for c in online if c.id > recipient.id] + [c for c in online if c.id < recipient.id]
        target = after[0] if after else recipient
        self.publish(target.user_id, self.make_forward(msg, sender, recipient))


class KeylessOfflineList(ReferenceServer):
    """The 0.8.2 bug: the client_list sent after an offline carries no public keys (PRES-3)."""

    def broadcast_client_list(self, exclude: str | None) -> None:
        if exclude is None:
            return super().broadcast_client_list(exclude)
        online = self.store.all()
        for recipient in online:
            obj = self.codec.to_obj(self.make_client_list(recipient, online, self.now()))
            for entry in obj["message"]:
                for field in KEY_FIELDS:
                    entry.pop(field, None)
            self.publish_raw(recipient.user_id, canonical_json(obj))


class LeakUserId(ReferenceServer):
    """Forwards carry the sender's user_id instead of "" (FWD-3)."""

    def send_forward(self, msg: NormalToServer, sender, recipient) -> None:
        obj = self.codec.to_obj(self.make_forward(msg, sender, recipient))
        obj["user_id"] = sender.user_id
        self.publish_raw(recipient.user_id, canonical_json(obj))


class TrustFrom(ReferenceServer):
    """Copies the incoming `from` into the forward instead of the registered name (FWD-2)."""

    def make_forward(self, msg, sender, recipient) -> NormalToClient:
        return _replace(super().make_forward(msg, sender, recipient), from_=msg.from_)


class CrashOnBadInput(ReferenceServer):
    """Like the 2014 server on a bad message: stops consuming (ROB-1)."""

    def handle(self, routing_key: str, body: bytes) -> None:
        try:
            self.codec.decode(body, direction="client-to-server")
        except ProtocolError:
            log.error("bad input: giving up")
            self.stop()
            return
        super().handle(routing_key, body)


class AlteredCiphertext(ReferenceServer):
    """'Normalises' the ciphertext: base64 wrapped at 64 columns, latin-1 form re-encoded (FWD-4)."""

    def make_forward(self, msg, sender, recipient) -> NormalToClient:
        fwd = super().make_forward(msg, sender, recipient)
        try:
            raw = base64.b64decode(fwd.message, validate=True)
        except (binascii.Error, ValueError):
            raw = fwd.message.encode("latin-1")
        b64 = base64.b64encode(raw).decode("ascii")
        return _replace(fwd, message="\n".join(b64[i:i + 64] for i in range(0, len(b64), 64)))


class LeaverGetsList(ReferenceServer):
    """Sends the post-offline client_list to the leaver too (PRES-2)."""

    def on_offline(self, msg: Offline) -> None:
        rec = self.store.unregister(msg.user_id)
        if rec is None:
            return
        self.broadcast_client_list(exclude=None)
        self.publish(rec.user_id, self.make_client_list(rec, self.store.all(), self.now()))


class NewcomerGetsNoList(ReferenceServer):
    """Tells everyone but the newcomer about a new client (PRES-1)."""

    def on_online(self, msg: Online) -> None:
        rec, new = self.store.register(*self._identity(msg))
        self.broadcast_client_list(exclude=rec.user_id if new else None)


class DuplicateOnRejoin(ReferenceServer):
    """A repeated online adds a second entry with a fresh id (PRES-5)."""

    def __init__(self, config, codec=None):
        super().__init__(config, codec)
        self.extra: dict[str, int] = {}

    def on_online(self, msg: Online) -> None:
        if self.store.get(msg.user_id) is not None and msg.user_id not in self.extra:
            self.extra[msg.user_id] = self.store.allocate_id()
        super().on_online(msg)

    def on_offline(self, msg: Offline) -> None:
        self.extra.pop(msg.user_id, None)
        super().on_offline(msg)

    def make_client_list(self, recipient, online, now) -> ClientList:
        doubles = [dataclasses.replace(c, id=self.extra[c.user_id]) for c in online if c.user_id in self.extra]
        return client_list_for(recipient, list(online) + doubles, now)


class WrongFromId(ReferenceServer):
    """Puts the recipient's id in from_id (FWD-2)."""

    def make_forward(self, msg, sender, recipient) -> NormalToClient:
        return _replace(super().make_forward(msg, sender, recipient), from_id=recipient.id)


class WrongKeySpelling(ReferenceServer):
    """Always spells entries' key prublic_key, whatever the recipient spelled (PRES-4)."""

    def make_client_list(self, recipient, online, now) -> ClientList:
        return super().make_client_list(dataclasses.replace(recipient, key_field=KEY_FIELDS[0]), online, now)


class ForwardToDeparted(ReferenceServer):
    """Remembers every client it ever saw and still forwards to those who left (FWD-5)."""

    def __init__(self, config, codec=None):
        super().__init__(config, codec)
        self.directory: dict[int, Registered] = {}

    def on_online(self, msg: Online) -> None:
        super().on_online(msg)
        rec = self.store.get(msg.user_id)
        if rec is not None:
            self.directory[rec.id] = rec

    def on_normal(self, msg: NormalToServer) -> None:
        sender = self.store.get(msg.user_id)
        recipient = self.store.by_id(msg.destination_id) or self.directory.get(msg.destination_id)
        if sender is None or recipient is None:
            return
        self.publish(recipient.user_id, self.make_forward(msg, sender, recipient))


class ForwardFromStranger(ReferenceServer):
    """Forwards chats from user_ids that are not online, taking the sender's word for its name (FWD-5)."""

    def on_normal(self, msg: NormalToServer) -> None:
        sender = self.store.get(msg.user_id) or Registered(
            id=msg.destination_id, user_id=msg.user_id, name=msg.from_, public_key="", key_field=KEY_FIELDS[0])
        recipient = self.store.by_id(msg.destination_id)
        if recipient is None:
            return
        self.publish(recipient.user_id, self.make_forward(msg, sender, recipient))


class LenientJson(ReferenceServer):
    """Parses with the standard json module: duplicate keys, NaN and 1.0 ids slip through (MSG-1)."""

    def handle(self, routing_key: str, body: bytes) -> None:
        try:
            obj = json.loads(body)
            if isinstance(obj, dict) and isinstance(obj.get("destination_id"), float):
                obj["destination_id"] = int(obj["destination_id"])
            message = self.codec.from_obj(obj, direction="client-to-server")
        except (ValueError, RecursionError, ProtocolError):
            return
        self.dispatch(routing_key, message)


class SystemKeyOnly(ReferenceServer):
    """Ignores presence sent on routing key `server` (TOP-3): servers must accept it there too."""

    def handle(self, routing_key: str, body: bytes) -> None:
        if routing_key == "server" and b'"normal"' not in body:
            return
        super().handle(routing_key, body)


class Careless(ReferenceServer):
    """Publishes without content_type and non-persistent: breaks only the SHOULDs (TOP-5, TOP-6)."""

    def publish_raw(self, routing_key: str, body: bytes) -> None:
        self.channel.basic_publish(exchange=self.config.exchange, routing_key=routing_key, body=body)


class IdByName(ReferenceServer):
    """A new user_id that comes online with a departed client's name gets that client's old id (ID-2)."""

    def __init__(self, config, codec=None):
        super().__init__(config, codec)
        self.old_ids: dict[str, int] = {}

    def on_online(self, msg: Online) -> None:
        old = self.old_ids.get(msg.from_)
        if self.store.get(msg.user_id) is None and old is not None and self.store.by_id(old) is None:
            allocate = self.store.allocate_id
            self.store.allocate_id = lambda: old
            try:
                return super().on_online(msg)
            finally:
                self.store.allocate_id = allocate
        super().on_online(msg)

    def on_offline(self, msg: Offline) -> None:
        rec = self.store.get(msg.user_id)
        if rec is not None:
            self.old_ids[rec.name] = rec.id
        super().on_offline(msg)


class NameKeyed(ReferenceServer):
    """Takes names for identities: a newcomer with an online client's name replaces that client
    (MSG-4: names need not be unique; the first client is still online: PRES-6, PRES-1)."""

    def on_online(self, msg: Online) -> None:
        for c in self.store.all():
            if c.name == msg.from_ and c.user_id != msg.user_id:
                self.store.unregister(c.user_id)
        super().on_online(msg)


class UpperCaseUidLeak(ReferenceServer):
    """Forwards carry an unknown member with the sender's user_id in upper case (FWD-3)."""

    sender_uid = ""

    def on_normal(self, msg: NormalToServer) -> None:
        self.sender_uid = msg.user_id
        super().on_normal(msg)

    def publish(self, routing_key, message):
        if isinstance(message, NormalToClient):
            obj = self.codec.to_obj(message)
            obj["x_trace"] = self.sender_uid.upper()
            return self.publish_raw(routing_key, canonical_json(obj))
        return super().publish(routing_key, message)


class OfflineStrangerBroadcast(ReferenceServer):
    """An offline from a user_id that is not online still sends everyone a client_list (PRES-2)."""

    def on_offline(self, msg: Offline) -> None:
        if self.store.get(msg.user_id) is None:
            self.broadcast_client_list(exclude=msg.user_id)
            return
        super().on_offline(msg)


class StaleRejoin(ReferenceServer):
    """A repeated online keeps the old name, key and key spelling (PRES-5: the server updates them)."""

    def on_online(self, msg: Online) -> None:
        if self.store.get(msg.user_id) is not None:
            self.broadcast_client_list(exclude=None)
            return
        super().on_online(msg)


class NormalOnSystem(ReferenceServer):
    """Forwards a normal that came on routing key `system` (ROB-1: a body on a routing key its type does
    not use is refused; TOP-2)."""

    def handle(self, routing_key: str, body: bytes) -> None:
        if routing_key == "system":
            try:
                message = self.codec.decode(body, direction="client-to-server")
            except ProtocolError:
                message = None
            if isinstance(message, NormalToServer):
                return self.on_normal(message)
        super().handle(routing_key, body)


class MalformedBroadcasts(ReferenceServer):
    """Answers every body it refuses by sending everybody the client_list again (ROB-1: nothing may be
    published because of a malformed body)."""

    def handle(self, routing_key: str, body: bytes) -> None:
        try:
            self.codec.decode(body, direction="client-to-server")
        except ProtocolError:
            super().handle(routing_key, body)  # logs it
            self.broadcast_client_list(exclude=None)
            return
        super().handle(routing_key, body)


BROKEN: dict[str, tuple[type[ReferenceServer], frozenset[str]]] = {
    "id-reuse": (IdReuse, frozenset({"ID-1", "ID-2"})),
    "wrong-recipient": (WrongRecipient, frozenset({"FWD-1"})),
    "keyless-offline-list": (KeylessOfflineList, frozenset({"PRES-3"})),
    "leak-user-id": (LeakUserId, frozenset({"FWD-3"})),
    "trust-from": (TrustFrom, frozenset({"FWD-2"})),
    "crash-on-bad-input": (CrashOnBadInput, frozenset({"ROB-1"})),
    "altered-ciphertext": (AlteredCiphertext, frozenset({"FWD-4"})),
    "leaver-gets-list": (LeaverGetsList, frozenset({"PRES-2"})),
    "newcomer-gets-no-list": (NewcomerGetsNoList, frozenset({"PRES-1"})),
    "duplicate-on-rejoin": (DuplicateOnRejoin, frozenset({"PRES-5"})),
    "wrong-from-id": (WrongFromId, frozenset({"FWD-2"})),
    "wrong-key-spelling": (WrongKeySpelling, frozenset({"PRES-4"})),
    "forward-to-departed": (ForwardToDeparted, frozenset({"FWD-5"})),
    "forward-from-stranger": (ForwardFromStranger, frozenset({"FWD-5"})),
    "lenient-json": (LenientJson, frozenset({"MSG-1"})),
    "system-key-only": (SystemKeyOnly, frozenset({"TOP-3"})),
    "careless": (Careless, frozenset({"TOP-5", "TOP-6"})),
    "id-by-name": (IdByName, frozenset({"ID-2"})),
    "name-keyed": (NameKeyed, frozenset({"PRES-6", "PRES-1"})),
    "uppercase-uid-leak": (UpperCaseUidLeak, frozenset({"FWD-3"})),
    "offline-stranger-broadcast": (OfflineStrangerBroadcast, frozenset({"PRES-2"})),
    "stale-rejoin": (StaleRejoin, frozenset({"PRES-5", "PRES-4"})),
    "normal-on-system": (NormalOnSystem, frozenset({"ROB-1"})),
    "malformed-broadcasts": (MalformedBroadcasts, frozenset({"ROB-1"})),
}
# Broken servers only the restart checks (--server-cmd) can catch.
RESTART_BROKEN: dict[str, tuple[type[ReferenceServer], frozenset[str]]] = {
    "ids-in-memory": (IdsInMemory, frozenset({"ID-2"})),
}


def main(argv: list[str] | None = None) -> int:
    from reference_server.__main__ import main as server_main

    args = list(sys.argv[1:] if argv is None else argv)
    if "--broken" in args:
        i = args.index("--broken")
        name = args[i + 1]
        del args[i:i + 2]
    elif args and not args[0].startswith("-"):
        name = args.pop(0)
    else:
        print(f"usage: python -m tests.broken_servers NAME --exchange X; NAME one of {', '.join(BROKEN)}", file=sys.stderr)
        return 2
    every = {**BROKEN, **RESTART_BROKEN}
    if name not in every:
        print(f"unknown broken server {name!r}; one of {', '.join(every)}", file=sys.stderr)
        return 2
    return server_main(args, server_class=every[name][0])


if __name__ == "__main__":
    sys.exit(main())
