"""The IMPlus end-to-end encryption scheme (spec section ENC).

RSA PKCS#1 v1.5 (the `rsa` package) to the recipient's public key. The UTF-8 plaintext is cut
into chunks of at most k-11 bytes (k = key size in bytes); each chunk is one k-byte block; the
blocks are concatenated and sent as base64. Receivers also accept the 2014 form: the raw
ciphertext decoded as latin-1. Pure computation: no I/O, no clock.
"""
from __future__ import annotations

import base64
import binascii
from functools import lru_cache

import rsa

from .errors import CryptoError

MIN_KEY_BITS = 1024
DEFAULT_KEY_BITS = 1024
PKCS1_OVERHEAD = 11
MAX_CIPHERTEXT_CHARS = 32768  # schemas/defs.json ciphertext maxLength


def generate_keypair(bits: int = DEFAULT_KEY_BITS) -> tuple[rsa.PublicKey, rsa.PrivateKey]:
    if bits < MIN_KEY_BITS:
        raise CryptoError(f"RSA keys must have at least {MIN_KEY_BITS} bits, not {bits}", "ENC-3")
    return rsa.newkeys(bits)


def public_key_pem(key: rsa.PublicKey) -> str:
    """The PKCS#1 PEM text an online message carries."""
    return key.save_pkcs1("PEM").decode("ascii")


@lru_cache(maxsize=4096)
def load_public_key(pem: str) -> rsa.PublicKey:
    """Parse a PKCS#1 PEM public key; refuses garbage and keys under 1024 bits."""
    try:
        key = rsa.PublicKey.load_pkcs1(pem.encode("ascii"), "PEM")
    except (ValueError, TypeError, IndexError, UnicodeEncodeError) as exc:
        raise CryptoError(f"not a PKCS#1 PEM RSA public key: {exc}", "MSG-7") from None
    except Exception as exc:  # pyasn1 raises its own error types on malformed DER
        raise CryptoError(f"not a PKCS#1 PEM RSA public key: {type(exc).__name__}", "MSG-7") from None
    if not (3 <= key.e < key.n and key.e % 2 == 1 and key.n % 2 == 1):
        # e = 1 would send the plaintext as it is; an even or out-of-range e or n is no RSA key
        raise CryptoError(f"not a usable RSA public key: exponent {key.e if key.e < 2**64 else 'too large'}", "MSG-7")
    bits = key.n.bit_length()
    if bits < MIN_KEY_BITS:
        raise CryptoError(f"RSA key has {bits} bits; at least {MIN_KEY_BITS} are required", "ENC-3")
    return key


def _key_bytes(key: rsa.PublicKey | rsa.PrivateKey) -> int:
    return rsa.common.byte_size(key.n)


def max_plaintext_bytes(key: rsa.PublicKey) -> int:
    """The longest UTF-8 plaintext whose base64 ciphertext still fits a message field."""
    k = _key_bytes(key)
    blocks = (MAX_CIPHERTEXT_CHARS // 4 * 3) // k
    return blocks * (k - PKCS1_OVERHEAD)


def encrypt(plaintext: str, key: rsa.PublicKey | str) -> str:
    """base64 ciphertext of plaintext for the holder of key (a PublicKey or its PEM)."""
    if isinstance(key, str):
        key = load_public_key(key)
    data = plaintext.encode("utf-8")
    if not data:
        raise CryptoError("nothing to encrypt: the plaintext is empty", "ENC-1")
    limit = max_plaintext_bytes(key)
    if len(data) > limit:
        raise CryptoError(f"plaintext is {len(data)} UTF-8 bytes; at most {limit} fit one message for this key", "ENC-1")
    chunk = _key_bytes(key) - PKCS1_OVERHEAD
    blocks = [rsa.encrypt(data[i : i + chunk], key) for i in range(0, len(data), chunk)]
    return base64.b64encode(b"".join(blocks)).decode("ascii")


def ciphertext_bytes(message: str, key_size: int) -> tuple[bytes, str]:
    """The raw ciphertext of a message field and which form it came in ('base64' or 'latin-1')."""
    try:
        raw = base64.b64decode(message.encode("ascii"), validate=True)
        if raw and len(raw) % key_size == 0:
            return raw, "base64"
    except (binascii.Error, UnicodeEncodeError, ValueError):
        pass
    try:
        raw = message.encode("latin-1")
    except UnicodeEncodeError:
        raise CryptoError("ciphertext holds characters above U+00FF: neither base64 nor latin-1 form", "ENC-2") from None
    if not raw or len(raw) % key_size:
        raise CryptoError(f"ciphertext is not a whole number of {key_size}-byte blocks in either form", "ENC-1")
    return raw, "latin-1"


def decrypt(message: str, key: rsa.PrivateKey) -> str:
    """The plaintext of a message field (either form), or CryptoError saying why not."""
    k = _key_bytes(key)
    raw, _form = ciphertext_bytes(message, k)
    out = bytearray()
    for i in range(0, len(raw), k):
        try:
            out += rsa.decrypt(raw[i : i + k], key)
        except rsa.DecryptionError:
            raise CryptoError(f"block {i // k + 1} does not decrypt with this key", "ENC-1") from None
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise CryptoError("decrypted bytes are not UTF-8", "ENC-1") from None


def latin1_form(message_b64: str) -> str:
    """The 2014 wire form of a base64 ciphertext (for compatibility tests and old peers)."""
    return base64.b64decode(message_b64).decode("latin-1")
