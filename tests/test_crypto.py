"""The encryption scheme (ENC-1..3): chunked RSA PKCS#1 v1.5 in base64, the latin-1 form,
and the refusals (empty or too long text, wrong key, tampering, partial blocks, small or bad keys)."""
from __future__ import annotations

import base64
import math

import pytest
import rsa
from hypothesis import given, settings
from hypothesis import strategies as st

import implus_proto as p
from implus_proto import crypto
from implus_proto.strategies import key_pool

TEXTS = {
    "short": "hi",
    "one block exactly": "x" * 117,
    "just over one block": "x" * 118,
    "long multi-block": "The quick brown fox jumps over the lazy dog. " * 40,
    "non-ASCII": "héllo wörld, ça va? ñandú — «quotes»",
    "CJK": "你好，世界。" * 60,
    "emoji": "😀🎉👍🏽🇨🇳" * 30,
    "control and NUL": "a\x00b\nc\td\x7f",
}


@pytest.fixture(scope="module")
def pair1024():
    return key_pool()[0]


@pytest.fixture(scope="module")
def other1024():
    return key_pool()[1]


@pytest.fixture(scope="module")
def pair2048():
    return crypto.generate_keypair(2048)  # once per module: a few seconds


def _blocks(ciphertext: str, pub) -> int:
    raw = base64.b64decode(ciphertext, validate=True)
    k = rsa.common.byte_size(pub.n)
    assert len(raw) % k == 0
    return len(raw) // k


def _fits_a_message(ciphertext: str) -> None:
    """The ciphertext is a valid message field and its normal body is within the size limit."""
    m = p.NormalToServer(from_="a", user_id="4b3f76fb2c96495cbc365cd005c147d6", destination="b",
                         destination_id=1, created_at=1, message=ciphertext)
    assert p.decode(p.encode(m)) == m


@pytest.mark.parametrize("text", list(TEXTS.values()), ids=list(TEXTS))
def test_round_trip(text, pair1024):
    pub, priv = pair1024
    ct = p.encrypt(text, pub)
    assert p.decrypt(ct, priv) == text
    assert _blocks(ct, pub) == math.ceil(len(text.encode("utf-8")) / 117)
    assert "\n" not in ct
    _fits_a_message(ct)


def test_encryption_is_randomised(pair1024):
    pub, priv = pair1024
    a, b = p.encrypt("same", pub), p.encrypt("same", pub)
    assert a != b and p.decrypt(a, priv) == p.decrypt(b, priv) == "same"


def test_encrypt_accepts_the_pem(pair1024):
    pub, priv = pair1024
    assert p.decrypt(p.encrypt("via pem", p.public_key_pem(pub)), priv) == "via pem"


@settings(max_examples=30, deadline=None)
@given(st.text(min_size=1, max_size=400))
def test_round_trip_property(pair1024, text):
    pub, priv = pair1024
    assert p.decrypt(p.encrypt(text, pub), priv) == text


@pytest.mark.parametrize("unit", ["a", "é", "你", "😀"])
def test_max_plaintext_fits_and_one_more_byte_does_not(unit, pair1024):
    pub, priv = pair1024
    limit = crypto.max_plaintext_bytes(pub)
    assert limit == 22464  # ENC-1: 192 blocks of 117 bytes for a 1024-bit key
    size = len(unit.encode("utf-8"))
    text = unit * (limit // size) + "a" * (limit % size)
    assert len(text.encode("utf-8")) == limit
    ct = p.encrypt(text, pub)
    assert len(ct) <= crypto.MAX_CIPHERTEXT_CHARS
    assert p.decrypt(ct, priv) == text
    _fits_a_message(ct)
    with pytest.raises(p.CryptoError) as info:
        p.encrypt(text + "a", pub)
    assert info.value.requirement == "ENC-1"
    assert str(limit) in info.value.reason


def test_ciphertext_limit_matches_the_schema():
    defs = p.default_schemas().documents["defs.json"]["$defs"]
    assert crypto.MAX_CIPHERTEXT_CHARS == defs["ciphertext"]["maxLength"]


def test_empty_plaintext_refused(pair1024):
    with pytest.raises(p.CryptoError) as info:
        p.encrypt("", pair1024[0])
    assert info.value.requirement == "ENC-1"
    assert "empty" in info.value.reason


@pytest.mark.parametrize("text", [TEXTS["short"], TEXTS["long multi-block"], TEXTS["emoji"]], ids=["short", "long", "emoji"])
def test_latin1_form_decrypts(text, pair1024):
    pub, priv = pair1024
    ct = p.encrypt(text, pub)
    old = crypto.latin1_form(ct)
    assert all(ord(c) <= 0xFF for c in old)
    assert crypto.ciphertext_bytes(old, 128)[1] == "latin-1"
    assert crypto.ciphertext_bytes(ct, 128)[1] == "base64"
    assert p.decrypt(old, priv) == text
    if len(text.encode()) <= 117:  # one block, as the 2014 program sent it: fits a message too
        _fits_a_message(old)


def test_wrong_key_refused(pair1024, other1024):
    ct = p.encrypt("for someone else", other1024[0])
    with pytest.raises(p.CryptoError) as info:
        p.decrypt(ct, pair1024[1])
    assert info.value.requirement == "ENC-1"


@pytest.mark.parametrize("where", [0, 64, 127, 200])
def test_tampered_ciphertext_refused(where, pair1024):
    pub, priv = pair1024
    raw = bytearray(base64.b64decode(p.encrypt("x" * 200, pub)))  # two blocks
    raw[where] ^= 0x01
    with pytest.raises(p.CryptoError):
        p.decrypt(base64.b64encode(bytes(raw)).decode(), priv)


@pytest.mark.parametrize("raw_len", [1, 100, 127, 129, 255])
def test_partial_blocks_refused(raw_len, pair1024):
    priv = pair1024[1]
    for form in (base64.b64encode(b"\x01" * raw_len).decode(), (b"\x01" * raw_len).decode("latin-1")):
        with pytest.raises(p.CryptoError) as info:
            p.decrypt(form, priv)
        assert "block" in info.value.reason


def test_truncated_ciphertext_refused(pair1024):
    pub, priv = pair1024
    ct = p.encrypt("x" * 200, pub)
    raw = base64.b64decode(ct)
    with pytest.raises(p.CryptoError):
        p.decrypt(base64.b64encode(raw[:-1]).decode(), priv)


@pytest.mark.parametrize("message", ["", "snow \u2603", "é" * 128 + "\u0100"], ids=["empty", "above-latin1", "mixed"])
def test_unusable_ciphertext_strings_refused(message, pair1024):
    with pytest.raises(p.CryptoError):
        p.decrypt(message, pair1024[1])


@pytest.mark.parametrize("bits", [512, 768, 1023])
def test_generate_keypair_refuses_small_keys(bits):
    with pytest.raises(p.CryptoError) as info:
        crypto.generate_keypair(bits)
    assert info.value.requirement == "ENC-3"


@pytest.mark.parametrize("bits", [512, 1000])
def test_load_public_key_refuses_small_keys(bits):
    pub, _ = rsa.newkeys(bits)
    with pytest.raises(p.CryptoError) as info:
        p.load_public_key(p.public_key_pem(pub))
    assert info.value.requirement == "ENC-3"
    assert str(bits) in info.value.reason and "1024" in info.value.reason
    with pytest.raises(p.CryptoError):
        p.encrypt("hi", p.public_key_pem(pub))  # a sender MUST NOT encrypt to one (ENC-3)


def test_load_public_key_accepts_lf_and_crlf(pair1024):
    pem = p.public_key_pem(pair1024[0])
    assert p.load_public_key(pem) == pair1024[0]
    assert p.load_public_key(pem.replace("\n", "\r\n")) == pair1024[0]


def _garbage_pems(pair):
    pub, priv = pair
    good = p.public_key_pem(pub)
    lines = good.splitlines()
    return {
        "empty": "",
        "words": "hello",
        "private key": priv.save_pkcs1("PEM").decode(),
        "pkcs8 armour": good.replace("RSA PUBLIC KEY", "PUBLIC KEY"),
        "four dashes": good.replace("-----BEGIN", "----BEGIN", 1),
        "body garbage": "-----BEGIN RSA PUBLIC KEY-----\nAAAA\n-----END RSA PUBLIC KEY-----\n",
        "not base64": "-----BEGIN RSA PUBLIC KEY-----\n!!!!\n-----END RSA PUBLIC KEY-----\n",
        "truncated": "\n".join(lines[:2] + lines[-1:]) + "\n",
        "non-ASCII": good.replace("M", "é", 1),
        "no end": "\n".join(lines[:-1]) + "\n",
    }


GARBAGE = ["empty", "words", "private key", "pkcs8 armour", "four dashes", "body garbage", "not base64",
           "truncated", "non-ASCII", "no end"]


@pytest.mark.parametrize("name", GARBAGE)
def test_garbage_pem_refused(name, pair1024):
    garbage = _garbage_pems(pair1024)
    assert sorted(garbage) == sorted(GARBAGE)
    pem = garbage[name]
    with pytest.raises(p.CryptoError) as info:
        p.load_public_key(pem)
    assert info.value.requirement == "MSG-7"
    assert info.value.reason


def test_2048_bit_key_works(pair2048):
    pub, priv = pair2048
    assert pub.n.bit_length() == 2048
    pem = p.public_key_pem(pub)
    assert p.load_public_key(pem) == pub
    limit = crypto.max_plaintext_bytes(pub)
    assert limit == 23520  # ENC-1: 96 blocks of 245 bytes
    for text in ("hi", TEXTS["emoji"], "ж" * (limit // 2)):
        ct = p.encrypt(text, pem)
        assert p.decrypt(ct, priv) == text
        assert p.decrypt(crypto.latin1_form(ct), priv) == text
        _fits_a_message(ct)
    assert _blocks(p.encrypt("x" * 246, pub), pub) == 2
    with pytest.raises(p.CryptoError):
        p.encrypt("a" * (limit + 1), pub)
    # the key travels in an online message
    online = p.Online(from_="kate", user_id="4b3f76fb2c96495cbc365cd005c147d6", created_at=1,
                      message=p.KeyHolder(public_key=pem))
    assert p.decode(p.encode(online)) == online
    # a 1024-bit private key cannot read it
    with pytest.raises(p.CryptoError):
        p.decrypt(p.encrypt("hi", pub), key_pool()[0][1])


@pytest.mark.parametrize("e", [1, 0, 2, 65536])
def test_degenerate_public_exponents_are_refused(e):
    """e = 1 sends the plaintext as it is; e = 0 or an even e is no RSA key (MSG-7)."""
    pub, _ = p.generate_keypair()
    bad = rsa.PublicKey(pub.n, e).save_pkcs1("PEM").decode("ascii")
    with pytest.raises(p.CryptoError) as err:
        p.load_public_key(bad)
    assert err.value.requirement == "MSG-7"
    assert p.validate({"type": "online", "from": "x", "user_id": "a" * 32, "created_at": 1,
                       "message": {"prublic_key": bad}})[0].requirement == "MSG-7"
