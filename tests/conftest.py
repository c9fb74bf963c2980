import os

import pytest

# Client subprocesses in tests use 1024-bit keys (allowed, ENC-3): 2048-bit ones (the reference
# client's default, SEC-1) take seconds each to generate. tests/test_security.py checks the default.
os.environ.setdefault("IMPLUS_KEY_BITS", "1024")

from tests.wire import ServerProcess, cleanup_exchange, fresh_exchange


@pytest.fixture
def exchange():
    name = fresh_exchange()
    yield name
    cleanup_exchange(name)


@pytest.fixture
def server(exchange):
    proc = ServerProcess(exchange).wait_ready()
    yield proc
    proc.stop()
