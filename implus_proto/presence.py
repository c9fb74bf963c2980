"""Pure protocol logic shared by servers, clients and the conformance suite.

Building client lists and forwards, picking key spellings, checking routing keys. The
caller supplies the time (`now`, epoch seconds) and the registry contents: nothing here
reads a clock or a store.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from . import messages
from .schemaset import default_schemas


def _key_fields() -> tuple[str, ...]:
    schemas = default_schemas()
    defs = schemas.documents["defs.json"]["$defs"]
    return tuple(defs["key_holder"]["properties"])


KEY_FIELDS: tuple[str, ...] = _key_fields()  # ('prublic_key', 'public_key'): the seed's, then the 2014 code's
DEFAULT_KEY_FIELD = KEY_FIELDS[0]


def key_spelling(holder: messages.KeyHolder | messages.ClientListEntry) -> str:
    """Which spelling of the public-key field a holder uses."""
    for name in KEY_FIELDS:
        if getattr(holder, name) is not None:
            return name
    raise ValueError("holder carries no public key")


def key_of(holder: messages.KeyHolder | messages.ClientListEntry) -> str:
    """The PEM public key a holder carries, whichever spelling it uses."""
    return getattr(holder, key_spelling(holder))


def with_key(spelling: str, pem: str) -> messages.KeyHolder:
    if spelling not in KEY_FIELDS:
        raise ValueError(f"key field must be one of {KEY_FIELDS}, not {spelling!r}")
    return messages.KeyHolder(**{spelling: pem})


def routing_key_allowed(message: object, routing_key: str) -> bool:
    """May this message arrive on this routing key? (<user_id> stands for any client's key.)"""
    spec = default_schemas().by_class[type(message).__name__]
    return routing_key in spec.routing_keys or (
        "<user_id>" in spec.routing_keys and routing_key not in ("server", "system")
    )


@dataclass(frozen=True, slots=True)
class Registered:
    """One online client as a server registers it."""

    id: int
    user_id: str
    name: str
    public_key: str
    key_field: str


def registered_from_online(online: messages.Online, client_id: int) -> Registered:
    return Registered(
        id=client_id,
        user_id=online.user_id,
        name=online.from_,
        public_key=key_of(online.message),
        key_field=key_spelling(online.message),
    )


def client_list_for(recipient: Registered, online: Iterable[Registered], now: int) -> messages.ClientList:
    """The client_list one recipient gets: every online client, keys in the recipient's spelling."""
    entries = tuple(
        messages.ClientListEntry(id=c.id, user_name=c.name, **{recipient.key_field: c.public_key})
        for c in sorted(online, key=lambda c: c.id)
    )
    return messages.ClientList(created_at=now, message=entries)


def forward(message: messages.NormalToServer, sender: Registered, recipient: Registered) -> messages.NormalToClient:
    """The forward of a chat message: identities from the registry, ciphertext and time unchanged."""
    return messages.NormalToClient(
        from_=sender.name,
        from_id=sender.id,
        destination=recipient.name,
        destination_id=recipient.id,
        created_at=message.created_at,
        message=message.message,
    )
