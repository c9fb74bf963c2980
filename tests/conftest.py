import pytest

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
