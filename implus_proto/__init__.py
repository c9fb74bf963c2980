"""implus_proto: the IMPlus v1 protocol as a sans-IO library.

    from implus_proto import decode, encode, validate, ProtocolError
    msg = decode(body)            # bytes -> frozen message class, or ProtocolError
    body = encode(msg)            # canonical bytes
    issues = validate(obj)        # [] or a list of Issue (path, schema path, requirement, reason)

No function here opens a socket, talks to a broker or a store, or reads the clock:
callers pass the time in (see `presence`).
"""
from .codec import Codec, Message, decode, default_codec, encode, validate
from .crypto import decrypt, encrypt, generate_keypair, load_public_key, public_key_pem
from .errors import CryptoError, Issue, ProtocolError
from .messages import (
    ClientList,
    ClientListEntry,
    KeyHolder,
    NormalToClient,
    NormalToServer,
    Offline,
    Online,
    SelfOffline,
)
from .presence import KEY_FIELDS, key_of, key_spelling, routing_key_allowed, with_key
from .schemaset import SchemaSet, default_schemas

__version__ = "1.0.0"

__all__ = [
    "ClientList", "ClientListEntry", "Codec", "CryptoError", "Issue", "KEY_FIELDS", "KeyHolder",
    "Message", "NormalToClient", "NormalToServer", "Offline", "Online", "ProtocolError",
    "SchemaSet", "SelfOffline", "decode", "decrypt", "default_codec", "default_schemas", "encode",
    "encrypt", "generate_keypair", "key_of", "key_spelling", "load_public_key", "public_key_pem",
    "routing_key_allowed", "validate",
]
