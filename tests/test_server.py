"""The reference server on the wire: real RabbitMQ, real Redis, the server as a subprocess."""
from __future__ import annotations

import json
import signal

import pytest

import implus_proto as p
from tests.wire import Peer, ServerProcess, tap

KEYS = [p.generate_keypair() for _ in range(3)]


def online(peer: Peer, name: str, key: int = 0, spelling: str = "prublic_key", created_at=1412318244) -> dict:
    return {"type": "online", "from": name, "user_id": peer.user_id, "created_at": created_at,
            "message": {spelling: p.public_key_pem(KEYS[key][0])}}


def offline(peer: Peer, name: str) -> dict:
    return {"type": "offline", "from": name, "user_id": peer.user_id, "created_at": "1412318244", "message": ""}


def chat(peer: Peer, name: str, dest_id: int, text: str, key: int) -> dict:
    return {"type": "normal", "from": name, "user_id": peer.user_id, "destination": "whoever",
            "destination_id": dest_id, "created_at": 1412318250, "message": p.encrypt(text, KEYS[key][0])}


def listed(body: dict) -> dict[str, int]:
    assert body is not None, "no client_list arrived"
    msg = p.default_codec().from_obj(body)
    assert isinstance(msg, p.ClientList)
    return {e.user_name: e.id for e in msg.message}


def alice_and_bob(peers) -> tuple[Peer, Peer, dict[str, int]]:
    """alice (key 0) and bob (key 1) online, their lists received; their ids by name."""
    alice, bob = peers(), peers()
    alice.publish("system", online(alice, "alice", 0))
    alice.receive_json()
    bob.publish("system", online(bob, "bob", 1))
    ids = listed(bob.receive_json())
    alice.drain()
    return alice, bob, ids


@pytest.fixture
def peers(exchange):
    made = []

    def make():
        peer = Peer(exchange)
        made.append(peer)
        return peer

    yield make
    for peer in made:
        peer.close()


def test_presence_ids_and_key_spelling(server, peers):
    alice, bob = peers(), peers()
    alice.publish("system", online(alice, "alice", 0, "public_key"))
    first = alice.receive_json()
    assert listed(first) == {"alice": 1}
    assert "public_key" in first["message"][0] and "prublic_key" not in first["message"][0]

    bob.publish("server", online(bob, "bob", 1, "prublic_key"))  # presence on `server` is accepted too
    for peer, spelling in ((alice, "public_key"), (bob, "prublic_key")):
        body = peer.receive_json()
        assert listed(body) == {"alice": 1, "bob": 2}
        assert all(spelling in e for e in body["message"]), "entries must use the recipient's spelling (PRES-4)"
        assert {e[spelling] for e in body["message"]} == {p.public_key_pem(KEYS[0][0]), p.public_key_pem(KEYS[1][0])}

    # repeated online: same id, no new entry (PRES-5)
    bob.publish("system", online(bob, "bob", 1))
    assert listed(bob.receive_json()) == {"alice": 1, "bob": 2}
    alice.drain()

    # offline: the remaining get the list (with keys: the 0.8.2 bug stays fixed), the leaver none
    bob.publish("system", offline(bob, "bob"))
    body = alice.receive_json()
    assert listed(body) == {"alice": 1}
    assert body["message"][0]["public_key"].startswith("-----BEGIN RSA PUBLIC KEY-----")
    assert bob.drain() == []

    # ids are never reused (ID-2)
    carol = peers()
    carol.publish("system", online(carol, "carol", 2))
    assert listed(carol.receive_json()) == {"alice": 1, "carol": 3}


def test_forwarding_fills_identity_from_registry(server, peers, exchange):
    alice, bob, ids = alice_and_bob(peers)

    sent = chat(alice, "mallory", ids["bob"], "hello bob, ünïcødé ✓", key=1)
    alice.publish("server", sent)
    got = bob.receive_json()
    assert got is not None, "the forward did not arrive"
    msg = p.decode(json.dumps(got).encode())
    assert isinstance(msg, p.NormalToClient)
    assert (msg.from_, msg.from_id, msg.destination, msg.destination_id) == ("alice", ids["alice"], "bob", ids["bob"])
    assert msg.user_id == "" and alice.user_id not in json.dumps(got)
    assert msg.message == sent["message"] and msg.created_at == sent["created_at"]
    assert p.decrypt(msg.message, KEYS[1][1]) == "hello bob, ünïcødé ✓"
    assert alice.drain() == [], "the sender must not get a copy"


def test_not_forwarded_from_strangers_or_to_unknown_ids(server, peers):
    alice, bob, ids = alice_and_bob(peers)
    stranger = peers()
    alice.publish("server", chat(alice, "alice", 999, "to nobody", key=1))
    stranger.publish("server", chat(stranger, "eve", ids["bob"], "from a stranger", key=1))
    # the server keeps running and still forwards a valid message after those
    alice.publish("server", chat(alice, "alice", ids["bob"], "real", key=1))
    got = bob.receive_json()
    assert p.decrypt(got["message"], KEYS[1][1]) == "real"
    assert bob.drain() == [] and stranger.drain() == [] and alice.drain() == []
    assert "which is not online" in server.log() and "not online (claims 'eve')" in server.log()


BAD_BODIES = [
    b"not json", b"\xff\xfe\x00garbage", b"[1,2,3]", b'{"type":"normal"}', b'{"type":"nonsense"}',
    b'{"type":"online","type":"offline"}', b'{"x": NaN}', b"{" * 5000, b'"' + b"a" * 70000 + b'"',
    json.dumps({"type": "normal", "from": "a", "user_id": "a" * 32, "destination": "b", "destination_id": True,
                "created_at": 1, "message": "x"}).encode(),
    json.dumps({"type": "client_list", "created_at": 1, "message": []}).encode(),
]


def test_bad_input_is_logged_once_and_loses_nothing(server, peers):
    alice, bob = peers(), peers()
    alice.publish("system", online(alice, "alice", 0))
    alice.receive_json()
    for body in BAD_BODIES:
        alice.publish("server", body)
        alice.publish("system", body)
    bob.publish("system", online(bob, "bob", 1))  # a valid message right behind the bad ones
    ids = listed(bob.receive_json())
    assert ids == {"alice": 1, "bob": 2}
    assert server.proc.poll() is None
    assert server.log().count("rejected a") == 2 * len(BAD_BODIES)


def test_chat_on_the_wire_is_ciphertext_only(server, peers, exchange):
    conn, q = tap(exchange, "server")
    try:
        alice, bob = peers(), peers()
        alice.publish("system", online(alice, "alice", 0))
        alice.receive_json()
        bob.publish("system", online(bob, "bob", 1))
        ids = listed(bob.receive_json())
        alice.publish("server", chat(alice, "alice", ids["bob"], "the secret plan", key=1))
        assert bob.receive_json() is not None
        method, _, body = conn.channel().basic_get(q, auto_ack=True)
        assert method is not None
        assert b"the secret plan" not in body and b"secret" not in body
    finally:
        conn.close()


def test_sigterm_stops_cleanly(exchange):
    proc = ServerProcess(exchange).wait_ready()
    proc.proc.send_signal(signal.SIGTERM)
    assert proc.proc.wait(15) == 0
    assert "stopped" in proc.log()


def test_unreachable_redis_is_a_clear_error(exchange):
    proc = ServerProcess(exchange, extra=["--redis-url", "redis://127.0.0.1:1/0"])
    assert proc.proc.wait(30) == 1
    assert "cannot reach Redis" in proc.log() and "Traceback" not in proc.log()


def test_two_exchanges_do_not_share_presence(server, peers, exchange):
    from tests.wire import cleanup_exchange, fresh_exchange

    other_name = fresh_exchange()
    other = ServerProcess(other_name).wait_ready()
    try:
        a = peers()
        a.publish("system", online(a, "alice", 0))
        assert listed(a.receive_json()) == {"alice": 1}
        b = Peer(other_name)
        try:
            b.publish("system", online(b, "bob", 1))
            assert listed(b.receive_json()) == {"bob": 1}
        finally:
            b.close()
    finally:
        other.stop()
        cleanup_exchange(other_name)


def test_chat_on_the_presence_key_is_refused(server, peers):
    """TOP-2 / ROB-1: a normal arriving on `system` is refused and logged, not forwarded."""
    alice, bob, ids = alice_and_bob(peers)
    alice.publish("system", chat(alice, "alice", ids["bob"], "wrong key", key=1))
    alice.publish("server", chat(alice, "alice", ids["bob"], "right key", key=1))
    got = bob.receive_json()
    assert p.decrypt(got["message"], KEYS[1][1]) == "right key"
    assert bob.drain() == []
    assert "rejected a normal message on routing key 'system'" in server.log() and "[TOP-2]" in server.log()


def test_clients_without_a_queue_are_dropped(server, peers, exchange):
    """PRES-7: an online with no queue bound behind it does not stay in the list."""
    alice = peers()
    alice.publish("system", online(alice, "alice", 0))
    assert listed(alice.receive_json()) == {"alice": 1}
    ghost_id = "f" * 32
    alice.publish("system", {"type": "online", "from": "ghost", "user_id": ghost_id, "created_at": 1,
                             "message": {"prublic_key": p.public_key_pem(KEYS[1][0])}})
    assert listed(alice.receive_json()) == {"alice": 1, "ghost": 2}
    assert listed(alice.receive_json()) == {"alice": 1}, "the ghost must be announced gone"
    assert "dropped 'ghost' (id 2): no queue is bound" in server.log()


def test_online_beyond_capacity_is_refused_and_the_rest_served(exchange, peers):
    """PRES-8: a server refuses a newcomer it cannot list, and goes on serving those online."""
    srv = ServerProcess(exchange, extra=["--max-clients", "2"]).wait_ready()
    try:
        a, b, c = peers(), peers(), peers()
        for peer, name in ((a, "a"), (b, "b")):
            peer.publish("system", online(peer, name, 0))
            peer.receive_json()
        a.drain()
        c.publish("system", online(c, "c", 2))
        assert c.drain(1.0) == [] and a.drain() == []
        assert "refused the online of 'c'" in srv.log() and "[PRES-8]" in srv.log()
        b.publish("system", online(b, "b", 1))  # a repeated online is not a newcomer
        assert listed(a.receive_json()) == {"a": 1, "b": 2}
        b.publish("system", offline(b, "b"))
        assert listed(a.receive_json()) == {"a": 1}
        c.publish("system", online(c, "c", 2))  # room again
        assert listed(c.receive_json()) == {"a": 1, "c": 3}  # refused before an id was given
    finally:
        srv.stop()


def test_online_that_would_overflow_the_list_body_is_refused(exchange, tmp_path, peers):
    """PRES-8 by size: with client_list bodies limited (a copy of the schemas), the newcomer is refused."""
    import json as _json
    import shutil

    from implus_proto import Codec, SchemaSet
    from reference_server.server import ReferenceServer, ServerConfig
    from tests.wire import AMQP_URL, REDIS_URL

    shutil.copytree(p.default_schemas().directory, tmp_path / "schemas", ignore=shutil.ignore_patterns("vectors"))
    path = tmp_path / "schemas" / "client_list.json"
    doc = _json.loads(path.read_text())
    doc["x-implus"]["max_body_bytes"] = 500  # room for one entry with a 1024-bit key (~330 bytes), not two
    path.write_text(_json.dumps(doc))
    srv = ReferenceServer(ServerConfig(amqp_url=AMQP_URL, redis_url=REDIS_URL, exchange=exchange),
                          codec=Codec(SchemaSet(tmp_path / "schemas")))
    srv.connect()
    try:
        a, b = peers(), peers()
        srv.handle("system", _json.dumps(online(a, "a", 0)).encode())
        assert listed(a.receive_json()) == {"a": 1}
        srv.handle("system", _json.dumps(online(b, "b", 1)).encode())
        assert b.drain(0.5) == [] and a.drain() == []
        assert srv.store.get(b.user_id) is None and srv.store.get(a.user_id) is not None
    finally:
        srv._close()


def test_repeated_online_repairs_a_half_written_registration(server, peers, exchange):
    """A registration whose id index was lost (a Redis failure between two writes) is repaired by the
    next online of that client, so a listed client is always addressable (FWD-1)."""
    import redis as _redis

    from tests.wire import REDIS_URL

    alice, bob, ids = alice_and_bob(peers)
    _redis.Redis.from_url(REDIS_URL).hdel(f"implus:{exchange}:ids", str(ids["bob"]))
    bob.publish("system", online(bob, "bob", 1))
    bob.receive_json()
    alice.drain()
    alice.publish("server", chat(alice, "alice", ids["bob"], "reachable", key=1))
    assert p.decrypt(bob.receive_json()["message"], KEYS[1][1]) == "reachable"


def test_exchange_of_the_wrong_type_is_a_clear_error(exchange):
    import pika

    from tests.wire import AMQP_URL

    conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    conn.channel().exchange_declare(exchange, exchange_type="fanout", durable=True)
    conn.close()
    proc = ServerProcess(exchange)
    assert proc.proc.wait(30) == 1
    assert "cannot use exchange" in proc.log() and "Traceback" not in proc.log()
