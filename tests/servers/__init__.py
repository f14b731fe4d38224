"""Real servers for integration tests: a private Dovecot IMAP instance and an aiosmtpd SMTP sink.

Both listen on 127.0.0.1 only. Helpers raise RuntimeError when a server cannot start: tests that
need a server must fail loudly, never skip, so a broken CI image cannot pass by accident.
"""

from tests.servers.dovecot import DovecotFactory, DovecotServer, make_dovecot_base, start_dovecot
from tests.servers.smtp_sink import ReceivedMail, SmtpSink, start_smtp_sink

__all__ = [
    "DovecotFactory",
    "DovecotServer",
    "ReceivedMail",
    "SmtpSink",
    "make_dovecot_base",
    "start_dovecot",
    "start_smtp_sink",
]
