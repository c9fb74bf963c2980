"""Decode benchmark: implus_proto.decode against json.loads on the same bodies, side by side.

For each body, three callables are timed in one run, interleaved (json.loads, decode, then the
python-jsonschema reference path, again and again), each as the best of several repeats of a
timed loop, so that load on the machine hits all three alike.  The result is the ratio
decode / json.loads (target: <= 1.0); absolute times depend on the machine.

    .venv/bin/python benchmarks/bench_decode.py [--repeat N] [--quick]
"""
from __future__ import annotations

import argparse
import json
import sys
import timeit

from implus_proto import Codec, ClientList, ClientListEntry, NormalToServer, Online, default_schemas
from implus_proto.codec import canonical_json
from implus_proto.strictjson import parse

# A 1024-bit PKCS#1 key (the schema's example key).
PEM = default_schemas().by_class["Online"].schema["examples"][0]["message"]["prublic_key"]
CIPHERTEXT = default_schemas().by_class["NormalToServer"].schema["examples"][1]["message"]


def bodies(codec: Codec) -> list[tuple[str, bytes]]:
    normal = NormalToServer(
        from_="jackson", user_id="4b3f76fb2c96495cbc365cd005c147d6", destination="kate",
        destination_id=1, created_at="1412318244", message=CIPHERTEXT,
    )
    online = Online(from_="jackson", user_id="4b3f76fb2c96495cbc365cd005c147d6", created_at=1412318244,
                    message=_key_holder(PEM))
    client_list = ClientList(
        created_at="1412318244",
        message=tuple(ClientListEntry(id=i, user_name=f"user{i}", prublic_key=PEM) for i in range(1, 11)),
    )
    found = [
        ("normal (small)", codec.encode(normal)),
        ("normal, json.dumps spacing", json.dumps(codec.to_obj(normal)).encode()),
        ("online with key", codec.encode(online)),
        ("client_list, 10 entries", codec.encode(client_list)),
    ]
    return found


def _key_holder(pem: str):
    from implus_proto import KeyHolder

    return KeyHolder(prublic_key=pem)


def reference(codec: Codec):
    """The python-jsonschema path decode took before the fast path: strictjson.parse + Codec.validate."""
    def decode_reference(body: bytes):
        obj, problem = parse(body, max_bytes=codec.schemas.max_body_bytes, max_depth=codec.max_depth)
        assert problem is None
        return codec.from_obj(obj, body_size=len(body))
    return decode_reference


def best_per_call(fn, body: bytes, number: int) -> float:
    return min(timeit.repeat(lambda: fn(body), number=number, repeat=1)) / number


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15, help="interleaved rounds (best of N is kept)")
    ap.add_argument("--number", type=int, default=2000, help="calls per timed loop (json.loads, decode)")
    ap.add_argument("--quick", action="store_true", help="few rounds, for a smoke run")
    args = ap.parse_args(argv)
    if args.quick:
        args.repeat, args.number = 3, 200
    codec = Codec()
    if codec.fast is None or codec.fast.unsupported:
        print(f"warning: fast path missing or partial: {None if codec.fast is None else codec.fast.unsupported}")
    ref = reference(codec)
    rows = []
    for name, body in bodies(codec):
        assert codec.decode(body) == ref(body), name  # same message both ways
        assert codec.fast is not None and codec.fast.decode(body) is not None, f"{name}: not on the fast path"
        best = {"json": float("inf"), "decode": float("inf"), "reference": float("inf")}
        ref_number = max(1, args.number // 50)
        for _ in range(args.repeat):
            best["json"] = min(best["json"], best_per_call(json.loads, body, args.number))
            best["decode"] = min(best["decode"], best_per_call(codec.decode, body, args.number))
            best["reference"] = min(best["reference"], best_per_call(ref, body, ref_number))
        rows.append((name, len(body), best))
    print(f"python {sys.version.split()[0]}; best of {args.repeat} interleaved rounds; µs per call")
    print(f"{'body':28} {'bytes':>6} {'json.loads':>11} {'decode':>9} {'reference':>10} {'decode/json':>12} {'ref/json':>9}")
    for name, size, b in rows:
        print(f"{name:28} {size:6d} {b['json'] * 1e6:11.2f} {b['decode'] * 1e6:9.2f} {b['reference'] * 1e6:10.2f} "
              f"{b['decode'] / b['json']:12.2f} {b['reference'] / b['json']:9.2f}")
    print("note: the ratios, not the absolute times, are the result; times depend on this machine and its load.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
