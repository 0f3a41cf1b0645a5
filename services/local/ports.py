"""Local TCP ports: pick a free one, or check that a chosen one is free before a server tries to bind it."""

from __future__ import annotations

import socket


class PortInUseError(RuntimeError):
    """A port the local stack needs is taken; the message names the port, who wanted it and how to change it."""

    def __init__(self, port: int, purpose: str, hint: str = "") -> None:
        self.port = port
        self.purpose = purpose
        message = f"port {port} on 127.0.0.1 is already in use; it is needed for {purpose}"
        super().__init__(f"{message} ({hint})" if hint else message)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        # Without SO_REUSEADDR a port in TIME_WAIT would look taken although a server (which sets it) could bind it.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def ensure_free(port: int, purpose: str, hint: str = "", host: str = "127.0.0.1") -> int:
    if not is_free(port, host):
        raise PortInUseError(port, purpose, hint)
    return port
