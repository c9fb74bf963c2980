"""make demo: a tap on routing key `server` that prints the message field of the first chat message.

A direct exchange copies a message to every queue bound with its routing key, so this queue sees
what alice sends the server without taking it from anyone: it shows that only ciphertext crosses
the broker.
"""
import json
import os
import sys

import pika

exchange = sys.argv[1]
conn = pika.BlockingConnection(pika.URLParameters(os.environ.get("IMPLUS_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")))
ch = conn.channel()
ch.exchange_declare(exchange, exchange_type="direct", durable=True)
queue = ch.queue_declare("", exclusive=True).method.queue
ch.queue_bind(queue, exchange, routing_key="server")
print("ready", flush=True)
for method, _, body in ch.consume(queue, auto_ack=True, inactivity_timeout=60):
    if method is None:
        print("no chat message crossed the broker within 60 s", flush=True)
        break
    msg = json.loads(body)
    if msg.get("type") == "normal":
        text = msg["message"]
        print(f"message field on routing key 'server' ({len(text)} chars of base64): {text[:60]}...", flush=True)
        break
conn.close()
