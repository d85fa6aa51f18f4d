"""Unit tests cannot reach the network (issue 13 item 8): pytest-socket is on for every test.

These tests would pass without the guard only if it were off, so they are what shows it works.
"""

from __future__ import annotations

import socket

import pytest
from pytest_socket import SocketBlockedError, SocketConnectBlockedError


def test_a_unit_test_cannot_open_a_network_socket():
    with pytest.raises(SocketBlockedError):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with pytest.raises(SocketBlockedError):
        socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)


def test_a_unit_test_may_still_use_unix_sockets():
    # asyncio's event loop wakes itself through an AF_UNIX socketpair.
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"x")
        assert right.recv(1) == b"x"


@pytest.mark.loopback
def test_a_loopback_test_reaches_loopback_and_nothing_else():
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            conn, _ = server.accept()
            conn.close()
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as client,
        pytest.raises(SocketConnectBlockedError),
    ):
        client.connect(("198.18.0.10", 80))  # refused before a packet leaves
