"""Presence in Redis: who is online on one exchange, and the id counter.

Keys are namespaced by exchange, so two exchanges never share presence:
  implus:<exchange>:clients   hash user_id -> JSON {id, name, public_key, key_field}
  implus:<exchange>:ids       hash id -> user_id (index for forwarding)
  implus:<exchange>:next_id   counter (INCR): ids are never reused while it lives
"""
from __future__ import annotations

import json

import redis

from implus_proto.presence import Registered


class PresenceStore:
    def __init__(self, client: redis.Redis, exchange: str) -> None:
        self.redis = client
        self.clients_key = f"implus:{exchange}:clients"
        self.ids_key = f"implus:{exchange}:ids"
        self.counter_key = f"implus:{exchange}:next_id"

    @staticmethod
    def _load(user_id: str, raw: bytes | str) -> Registered:
        rec = json.loads(raw)
        return Registered(id=int(rec["id"]), user_id=user_id, name=rec["name"],
                          public_key=rec["public_key"], key_field=rec["key_field"])

    @staticmethod
    def _dump(rec: Registered) -> str:
        return json.dumps({"id": rec.id, "name": rec.name, "public_key": rec.public_key, "key_field": rec.key_field})

    def allocate_id(self) -> int:
        """A fresh id: atomic, so concurrent servers on one exchange never hand out the same one."""
        return int(self.redis.incr(self.counter_key))

    def register(self, user_id: str, name: str, public_key: str, key_field: str) -> tuple[Registered, bool]:
        """Record a client as online; (record, True) if it is new, (record, False) if it was already.

        A repeated online keeps the client's id but takes its latest name and key.
        """
        current = self.get(user_id)
        if current is not None:
            rec = Registered(id=current.id, user_id=user_id, name=name, public_key=public_key, key_field=key_field)
            pipe = self.redis.pipeline()  # MULTI/EXEC; also repairs an index write a failure cut short
            pipe.hset(self.clients_key, user_id, self._dump(rec))
            pipe.hset(self.ids_key, str(rec.id), user_id)
            pipe.execute()
            return rec, False
        rec = Registered(id=self.allocate_id(), user_id=user_id, name=name, public_key=public_key, key_field=key_field)
        if not self.redis.hsetnx(self.clients_key, user_id, self._dump(rec)):
            return self.get(user_id) or rec, False  # another server registered it first
        self.redis.hset(self.ids_key, str(rec.id), user_id)
        return rec, True

    def unregister(self, user_id: str) -> Registered | None:
        rec = self.get(user_id)
        if rec is not None:
            pipe = self.redis.pipeline()
            pipe.hdel(self.clients_key, user_id)
            pipe.hdel(self.ids_key, str(rec.id))
            pipe.execute()
        return rec

    def count(self) -> int:
        return int(self.redis.hlen(self.clients_key))

    def get(self, user_id: str) -> Registered | None:
        raw = self.redis.hget(self.clients_key, user_id)
        return None if raw is None else self._load(user_id, raw)

    def all(self) -> list[Registered]:
        """Every online client, by id."""
        raw = self.redis.hgetall(self.clients_key)
        recs = [self._load(k.decode() if isinstance(k, bytes) else k, v) for k, v in raw.items()]
        return sorted(recs, key=lambda r: r.id)

    def by_id(self, client_id: int) -> Registered | None:
        user_id = self.redis.hget(self.ids_key, str(client_id))
        if user_id is None:
            return None
        rec = self.get(user_id.decode() if isinstance(user_id, bytes) else user_id)
        return rec if rec is not None and rec.id == client_id else None

    def reset(self) -> None:
        """Forget who is online (the id counter stays, so ids are still never reused)."""
        self.redis.delete(self.clients_key, self.ids_key)
