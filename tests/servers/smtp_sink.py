"""A real SMTP server (aiosmtpd) that keeps every accepted message in memory, for integration tests."""

from __future__ import annotations

import atexit
import contextlib
import email
import email.message
import errno
import socket
import threading
import time
from dataclasses import dataclass, field
from email import policy
from typing import Any, cast

from aiosmtpd.controller import Controller

_PORT_ATTEMPTS = 5
# aiosmtpd calls socket.getfqdn() without this, which can stall for seconds on a CI box without DNS.
_SERVER_HOSTNAME = "smtp-sink.test"


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    received_at: float = field(default_factory=time.time, compare=False)

    def message(self) -> email.message.EmailMessage:
        # policy.default yields EmailMessage (get_body, iter_attachments, decoded headers).
        return cast(email.message.EmailMessage, email.message_from_bytes(self.data, policy=policy.default))


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return self._sink._receive(envelope)


class SmtpSink:
    """Accepts all mail on host:port. `fail_next = N` answers the next N DATA commands with 451."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.messages: list[ReceivedMail] = []
        self.rejected: int = 0  # DATA commands answered 451 so far (lets retry tests assert attempts)
        self._fail_next = 0
        self._cond = threading.Condition()
        self._controller: Controller | None = None

    @property
    def fail_next(self) -> int:
        with self._cond:
            return self._fail_next

    @fail_next.setter
    def fail_next(self, value: int) -> None:
        with self._cond:
            self._fail_next = max(0, int(value))

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        """Block until at least `count` messages arrived; return a snapshot of all of them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.messages) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"SMTP sink {self.host}:{self.port}: expected {count} message(s) within "
                        f"{timeout} s, got {len(self.messages)} (rejected with 451: {self.rejected})"
                    )
                self._cond.wait(remaining)
            return list(self.messages)

    def clear(self) -> None:
        with self._cond:
            self.messages.clear()
            self.rejected = 0

    def stop(self) -> None:
        """Idempotent."""
        with self._cond:
            controller, self._controller = self._controller, None
        atexit.unregister(self.stop)
        if controller is not None:
            with contextlib.suppress(Exception):
                controller.stop()

    def __enter__(self) -> SmtpSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"SmtpSink(host={self.host!r}, port={self.port}, messages={len(self.messages)})"

    def _receive(self, envelope: Any) -> str:
        # Runs on the controller's event-loop thread; tests read from the main thread.
        with self._cond:
            if self._fail_next > 0:
                self._fail_next -= 1
                self.rejected += 1
                return "451 4.3.0 Temporary failure (test sink fail_next)"
            content = envelope.content
            data = content if isinstance(content, bytes) else str(content).encode("utf-8")
            self.messages.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), data))
            self._cond.notify_all()
        return "250 2.0.0 OK: queued in test sink"


def start_smtp_sink(host: str = "127.0.0.1", port: int = 0, *, smtputf8: bool = True) -> SmtpSink:
    """Start a sink; port 0 picks a free port (retrying if another process grabs it first). `smtputf8=False`
    plays a server that does not offer SMTPUTF8 (RFC 6531)."""
    attempts = _PORT_ATTEMPTS if port == 0 else 1
    last_error: BaseException | None = None
    for _attempt in range(attempts):
        # aiosmtpd's Controller cannot listen on port 0 (its readiness probe connects to `port`).
        chosen = port or _free_port(host)
        sink = SmtpSink(host, chosen)
        controller = Controller(
            _Handler(sink),
            hostname=host,
            port=chosen,
            server_hostname=_SERVER_HOSTNAME,
            ready_timeout=10.0,
            decode_data=False,  # keep the exact bytes: tests compare signatures and attachments
            enable_SMTPUTF8=smtputf8,
        )
        try:
            controller.start()
        except OSError as exc:
            last_error = exc
            with contextlib.suppress(Exception):
                controller.stop(no_assert=True)
            if exc.errno == errno.EADDRINUSE:
                continue
            break
        except Exception as exc:
            last_error = exc
            with contextlib.suppress(Exception):
                controller.stop(no_assert=True)
            break
        sink._controller = controller
        atexit.register(sink.stop)
        return sink
    raise RuntimeError(f"SMTP sink could not start on {host}:{port or '<free port>'}: {last_error!r}")


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
