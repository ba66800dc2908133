"""A real SMTP server on 127.0.0.1 (aiosmtpd) that demands STARTTLS and keeps what it receives, for the tests of the
reporting cycle's e-mails."""

import email
import email.policy
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from tests.certs import certificate_for


@dataclass
class Inbox:
    port: int
    ca_file: str
    messages: list[EmailMessage] = field(default_factory=list)
    tls: list[bool] = field(default_factory=list)  # whether each message came over TLS

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


class _Handler:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.inbox.messages.append(message)
        self.inbox.tls.append(session.ssl is not None)
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_server(folder: Path) -> Iterator[Inbox]:
    context, ca = certificate_for("127.0.0.1")
    ca_file = folder / "smtp-ca.pem"
    ca_file.write_bytes(ca)
    inbox = Inbox(port=_free_port(), ca_file=str(ca_file))
    controller = Controller(_Handler(inbox), hostname="127.0.0.1", port=inbox.port, tls_context=context, require_starttls=True)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
