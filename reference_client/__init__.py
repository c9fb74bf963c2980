"""The IMPlus reference client (console script `implus-client`).

Built on implus_proto for everything about the protocol; this package adds the edge: the AMQP
connection (pika), the clock, and the terminal. See `reference_client.__main__` for the modes.
"""
from .session import ClientError, Config, Peer, Session

__all__ = ["ClientError", "Config", "Peer", "Session"]
