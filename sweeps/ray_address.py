"""Refuse an unreachable `--address` in seconds, before Ray is asked to join it.

Ray retries a dead GCS address for minutes, printing connection warnings, instead of refusing it
(docs/ray-notes.md "Behaviours we reproduced").  A plain TCP connect with a short timeout tells a
typo or a stopped cluster apart from a live one, so the launch can exit 2 with one line.  Symbolic
addresses (`auto`, `local`, unset) are left to Ray, which resolves or refuses them quickly itself.
"""

from __future__ import annotations

import re
import socket

from trainer.errors import UserInputError

CONNECT_TIMEOUT_S = 3.0
_HOST_PORT = re.compile(r"^(?:ray://)?(?P<host>\[[^\]]+\]|[^:/\s]+):(?P<port>\d{1,5})/?$")


def host_port(address: str) -> tuple[str, int] | None:
    """(host, port) of a `host:port` or `ray://host:port` address; None for symbolic ones like `auto`."""
    m = _HOST_PORT.match(address.strip())
    if not m:
        return None
    return m.group("host").strip("[]"), int(m.group("port"))


def check_reachable(address: str | None, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """UserInputError (one line) unless something accepts TCP connections at `address`."""
    hp = host_port(address) if address else None
    if hp is None:
        return
    host, port = hp
    if not 0 < port < 65536:
        raise UserInputError(f"--address {address}: port {port} is out of range")
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or type(exc).__name__).lower()
    raise UserInputError(f"--address {address}: no Ray cluster reachable there ({reason}); start one with "
                         f"`ray start --head` and pass the address it prints, or omit --address to run locally")
