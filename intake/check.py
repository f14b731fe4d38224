"""`intake check`: the configuration and every server it names, one line per check (like `nginx -t`).

The checks are the table `CHECKS`, read top to bottom. Each names the configuration key to fix when it fails and
what `intake run` does about it at start: `refuse` when running would harm citizens (a link in every reply that
does not open, a secret anyone can guess, receipts that cannot be signed), `warn` when the daemon copes on its own
(a server down at start is retried; an empty ops address only loses the alert e-mails).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, NamedTuple
from urllib.parse import urlsplit

from intake.settings import DEFAULT_CONFIG_PATH, ConfigError, Settings, WebSettings, office_views

# Shorter than a web session key made by secrets.token_urlsafe(32) (43 characters) is guessable in principle.
MIN_SECRET_KEY_CHARS = 32


class Outcome(NamedTuple):
    ok: bool
    detail: str
    key: str | None = None  # the key to fix, when it is not the check's usual one


@dataclass(frozen=True)
class Probe:
    """What the checks look at: the deployment's settings, one office's view of them (its mailbox, sender, calendar
    and key) and the trusted lists, loaded once (`run` passes the daemon's own store, so they are not loaded twice)."""

    deployment: Settings
    office: Settings
    trust_store: Callable[[], Any]


@dataclass(frozen=True)
class Check:
    name: str
    key: str  # the key to fix when it fails
    at_start: Literal["refuse", "warn"]  # what `intake run` does when it fails
    per_office: bool  # run once per office ([[offices]]) rather than once for the deployment
    function: Callable[[Probe], Outcome]


@dataclass(frozen=True)
class Result:
    check: str
    ok: bool
    detail: str
    key: str | None
    refuses: bool  # `intake run` must not start

    def as_json(self) -> dict[str, Any]:
        return {"check": self.check, "ok": self.ok, "detail": self.detail, "key": self.key}

    def line(self) -> str:
        if self.ok:
            return f"ok       {self.check:<22} {self.detail}"
        return f"PROBLEM  {self.check:<22} {self.detail} (set {self.key})"


# ------------------------------------------------------------------------------------------- the configuration


def trust_sources(probe: Probe) -> Outcome:
    from intake.signatures.trust_state import trust_sources_configured

    trust = probe.deployment.trust
    if trust_sources_configured(trust):
        given = [
            name for name, value in (("lists", trust.lists), ("lotl", trust.lotl), ("anchors", trust.anchors)) if value
        ]
        return Outcome(True, f"configured: trust.{', trust.'.join(given)}")
    return Outcome(False, "no trust source: every citizen's signature would be judged untrusted")


def database(probe: Probe) -> Outcome:
    """The schema is current, without creating anything: `check` on a fresh host must not leave a database."""
    from intake import schema
    from intake.db import open_engine

    url = probe.deployment.database.url
    sqlite_file = sqlite_path(url)
    if sqlite_file is not None and not sqlite_file.exists():
        if not database_configured(probe.deployment):
            return Outcome(False, f"not configured: the default would create {sqlite_file.resolve()}")
        return Outcome(
            True, f"{sqlite_file} not created yet: the first start creates it at schema {schema.code_revision()}"
        )
    try:
        engine = open_engine(url)
    except Exception as exc:  # a driver not installed, a bad path
        return Outcome(False, f"cannot open: {exc}")
    try:
        with engine.connect() as connection:
            stored = schema.stored_revision(connection)
        if stored is None:  # empty, or made before migrations: the first start creates or stamps it
            described = schema.describe(engine)
            return Outcome("unknown tables" not in described, described)
        schema.check(stored)
        return Outcome(True, f"schema {stored}, current")
    except ConfigError as exc:  # SchemaMismatch: the line says what to run
        return Outcome(False, str(exc))
    except Exception as exc:  # a server down, a wrong password
        return Outcome(False, f"cannot connect: {type(exc).__name__}: {_first_line(exc)}")
    finally:
        engine.dispose()


def public_url(probe: Probe) -> Outcome:
    """The address citizens open from every reply, recipisă and invitation: it must work from their homes."""
    url = probe.office.appointments.public_base_url
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host:
        return Outcome(False, f"{url!r} is not an address (https://name.of.the.site)")
    if _local_host(host):
        return Outcome(False, f"{url} is a local address: the links in citizens' e-mails would not open")
    if parts.scheme != "https":
        return Outcome(False, f"{url} is not https: citizens' case pages would travel unencrypted")
    return Outcome(True, url)


def secret_key(probe: Probe) -> Outcome:
    """The key signs staff sessions, citizens' links and our Message-IDs."""
    web = probe.deployment.web
    key = web.secret_key.get_secret_value()
    if not key:
        kept = probe.deployment.storage.path / "link-secret"
        keep = f" (to keep the links already sent working, use the key in {kept})" if kept.exists() else ""
        return Outcome(False, f"not set{keep}")
    if len(key) < MIN_SECRET_KEY_CHARS:
        return Outcome(False, f"too short ({len(key)} characters, at least {MIN_SECRET_KEY_CHARS})")
    return Outcome(True, "set")


def secure_cookies(probe: Probe) -> Outcome:
    web: WebSettings = probe.deployment.web
    urls = [view.appointments.public_base_url for view in office_views(probe.deployment)]  # [web] serves every office
    https = any(urlsplit(url).scheme == "https" for url in urls)
    if web.secure_cookies:
        return Outcome(True, "on: session cookies over HTTPS only, HSTS")
    if https:
        return Outcome(False, "off while the site is served over https: a session cookie could travel in clear")
    return Outcome(True, "off (the public address is not https)")


def ops_address(probe: Probe) -> Outcome:
    address = probe.deployment.alerts.ops_address.strip()
    if not address:
        return Outcome(False, "empty: alerts (mailbox down, outbox stuck, trusted list expired) would only be logged")
    if "@" not in address:
        return Outcome(False, f"{address!r} is not an e-mail address")
    return Outcome(True, address)


def receipt_key(probe: Probe) -> Outcome:
    from intake.runtime import open_receipt_key

    signing = probe.office.signing
    try:
        signer = open_receipt_key(signing)
    except ConfigError as exc:
        return Outcome(False, str(exc).removeprefix(f"configuration error: {exc.key}: "), exc.key)
    until = signer.certificate.not_valid_after_utc
    days = (until - datetime.now(UTC)).days
    soon = f", only {days} days left" if days < 30 else ""
    on_token = f"on token {signing.pkcs11.token_label!r}: " if signing.on_token and signing.pkcs11 else ""
    return Outcome(True, f"{on_token}{signer.certificate_subject}, valid until {until:%d.%m.%Y}{soon}")


def timestamp_authority(probe: Probe) -> Outcome:
    """One RFC 3161 request to the configured TSA: with B-LTA receipts, a TSA that does not answer holds every
    recipisă back (intake.outages), so ops should know before the first citizen writes."""
    import hashlib

    from pyhanko.sign.timestamps import HTTPTimeStamper

    from intake.receipts.sign import TIMESTAMP_TIMEOUT

    url = probe.office.signing.timestamp_url
    if not url:
        return Outcome(True, "not set: receipts are signed PAdES B-B, without a time-stamp")
    stamper = HTTPTimeStamper(url, timeout=TIMESTAMP_TIMEOUT)
    try:
        token = asyncio.run(stamper.async_timestamp(hashlib.sha256(b"intake check").digest(), "sha256"))
        info = token["content"]["encap_content_info"]["content"].parsed
        when = info["gen_time"].native
    except Exception as exc:  # pyHanko wraps HTTP and parsing failures in several types
        cause = exc.__cause__ or exc
        return Outcome(False, f"{url}: {type(cause).__name__}: {_first_line(cause)}")
    return Outcome(True, f"{url} answered, time {when:%d.%m.%Y %H:%M:%S} UTC")


def identity_card_ocr(probe: Probe) -> Outcome:
    """Tesseract with the model the MRZ reader uses (intake.validation.mrz_scan): without it every identity card
    goes to staff as "not checked automatically", which nobody would notice from the outside."""
    import subprocess

    from intake.validation.mrz_scan import LANGUAGE, TESSERACT

    try:
        done = subprocess.run([TESSERACT, "--list-langs"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Outcome(False, f"{TESSERACT} did not run ({type(exc).__name__}): identity cards go to staff unchecked")
    languages = done.stdout.decode("utf-8", errors="replace").split()
    if LANGUAGE not in languages:
        return Outcome(False, f"{TESSERACT} has no {LANGUAGE!r} model: identity cards go to staff unchecked")
    return Outcome(True, f"{TESSERACT} with the {LANGUAGE!r} model")


def trusted_lists(probe: Probe) -> Outcome:
    trust = probe.deployment.trust
    try:
        store = probe.trust_store()
    except Exception as exc:  # an anchor or LOTL signer file that cannot be read
        return Outcome(False, _first_line(exc), "trust.anchors" if trust.anchors else "trust.lotl_signers")
    now = datetime.now(UTC)
    lists = store.lists
    for info in lists:
        problem = info.error or ("expired" if info.expired(now, store.grace) else None)
        if problem:
            key = "trust.lists" if any(entry.source == info.source for entry in trust.lists) else "trust.lotl"
            return Outcome(False, f"{info.source}: {problem}", key)
    anchors = len(store.anchors)
    return Outcome(True, f"{len(lists)} list(s) loaded and current, {anchors} anchor(s)")


# -------------------------------------------------------------------------------------------------- the servers


def imap_login(probe: Probe) -> Outcome:
    from imapclient.exceptions import LoginError

    from intake.mailbox.imap import IMAP_ERRORS, connect

    imap = probe.office.imap
    where = f"{imap.host}:{imap.port} ({imap.security})"
    try:
        with connect(imap) as client:
            found = client.folder_exists(imap.folder)
    except LoginError:
        return Outcome(False, f"{where}: login refused for {imap.username!r}", "imap.password")
    except IMAP_ERRORS as exc:
        return Outcome(False, f"{where}: {type(exc).__name__}: {_first_line(exc)}")
    if not found:
        return Outcome(False, f"logged in to {where}, but there is no folder {imap.folder!r}", "imap.folder")
    return Outcome(True, f"logged in to {where} as {imap.username}, folder {imap.folder}")


def smtp_ehlo(probe: Probe) -> Outcome:
    smtp = probe.office.smtp
    where = f"{smtp.host}:{smtp.port} ({smtp.security})"
    try:
        asyncio.run(_smtp_session(probe))
    except _SmtpLoginRefused as exc:
        return Outcome(False, f"{where}: login refused for {smtp.username!r}: {exc}", "smtp.password")
    except Exception as exc:  # aiosmtplib's errors, OSError, TLS
        return Outcome(False, f"{where}: {type(exc).__name__}: {_first_line(exc)}")
    auth = f", logged in as {smtp.username}" if smtp.username else ""
    return Outcome(True, f"EHLO accepted by {where}{auth}")


class _SmtpLoginRefused(Exception):
    pass


async def _smtp_session(probe: Probe) -> None:
    import aiosmtplib

    from intake.outbox import _client  # the outbox's own connection settings: what is checked is what sends

    smtp = probe.office.smtp
    client = _client(smtp)
    await client.connect()  # EHLO, and STARTTLS when configured
    try:
        if smtp.username:
            try:
                await client.login(smtp.username, smtp.password.get_secret_value())
            except aiosmtplib.SMTPAuthenticationError as exc:
                raise _SmtpLoginRefused(exc.message) from None
    finally:
        with contextlib.suppress(aiosmtplib.SMTPException, OSError):
            await client.quit()


CHECKS: tuple[Check, ...] = (
    Check("trust_sources", "trust.lotl / trust.lists", "refuse", False, trust_sources),
    Check("database", "database.url", "refuse", False, database),
    Check("public_url", "appointments.public_base_url", "refuse", True, public_url),
    Check("secret_key", "web.secret_key", "refuse", False, secret_key),
    Check("secure_cookies", "web.secure_cookies", "warn", False, secure_cookies),
    Check("ops_address", "alerts.ops_address", "warn", False, ops_address),
    Check("receipt_key", "signing.pkcs12_path", "refuse", True, receipt_key),
    # A TSA down at start is a warning, like the mail servers: receipts wait for it (intake.outages).
    Check("timestamp", "signing.timestamp_url", "warn", True, timestamp_authority),
    Check("trusted_lists", "trust.lists", "warn", False, trusted_lists),
    Check("ocr", "the Debian packages tesseract-ocr tesseract-ocr-ron", "warn", False, identity_card_ocr),
    Check("imap", "imap.host", "warn", True, imap_login),
    Check("smtp", "smtp.host", "warn", True, smtp_ehlo),
)


def run_checks(
    settings: Settings, trust_store: Callable[[], Any] | None = None, checks: tuple[Check, ...] = CHECKS
) -> list[Result]:
    """Every check, in table order; per-office checks once per office, named `check (CODE)` when there are several.
    A check that raises is a failed check, never a crash of `intake check`."""
    views = office_views(settings)
    store = trust_store or _loaded_once(settings)
    results = []
    for check in checks:
        for view in views if check.per_office else views[:1]:
            name = f"{check.name} ({view.office.code})" if check.per_office and len(views) > 1 else check.name
            try:
                outcome = check.function(Probe(settings, view, store))
            except Exception as exc:
                outcome = Outcome(False, f"{type(exc).__name__}: {_first_line(exc)}")
            key = None if outcome.ok else outcome.key or check.key
            results.append(Result(name, outcome.ok, outcome.detail, key, not outcome.ok and check.at_start == "refuse"))
    return results


def configuration_result(path: Path | None) -> Result:
    """The first line of `intake check`: which file was read (the checks below depend on it)."""
    if path is None:
        tried = DEFAULT_CONFIG_PATH.resolve()
        return Result(
            "configuration", True, f"no file ({tried} not found): defaults and INTAKE_* variables", None, False
        )
    return Result("configuration", True, f"{path.resolve()}", None, False)


def configuration_failure(exc: ConfigError) -> Result:
    return Result("configuration", False, str(exc).removeprefix("configuration error: "), exc.key or "(file)", True)


def _loaded_once(settings: Settings) -> Callable[[], Any]:
    loaded: list[Any] = []

    def store() -> Any:
        if not loaded:
            from intake.signatures.trust_store import TrustStore

            loaded.append(TrustStore.from_settings(settings.trust, settings.storage.path / "trust-cache"))
        return loaded[0]

    return store


# --------------------------------------------------------------------------------------- where the state lives


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for another database or an in-memory one)."""
    if not url.startswith("sqlite:///"):
        return None
    path = url.removeprefix("sqlite:///")
    return Path(path) if path not in ("", ":memory:") else None


def database_configured(settings: Settings) -> bool:
    """Whether `database.url` was given (by the file or INTAKE_DATABASE__URL) rather than left at its default,
    a path relative to wherever intake happens to be started."""
    return "url" in settings.database.model_fields_set


def refuse_unconfigured_database(settings: Settings, config_path: Path | None, *, init: bool) -> None:
    """A command that keeps state creates a database only where one is configured, or with `--init`: `intake status`
    run in the wrong directory must say where it looked, not leave a fresh ./var/ behind."""
    file = sqlite_path(settings.database.url)
    if init or file is None or file.exists() or database_configured(settings):
        return
    tried = (
        f"{config_path.resolve()} sets no database.url"
        if config_path
        else (f"no configuration file ({DEFAULT_CONFIG_PATH.resolve()} not found; --config PATH or INTAKE_CONFIG)")
    )
    raise ConfigError(
        f"configuration error: database.url: {tried} and there is no database at {file.resolve()}: "
        "refusing to create one there (add --init to create it)",
        "database.url",
    )


def ensure_port_free(web: WebSettings) -> None:
    """A port taken by another process is a configuration problem (exit 2), said before any work starts; uvicorn
    would otherwise stop with its own exit code, or silently leave `run` without its web interface."""
    with socket.socket(socket.AF_INET6 if ":" in web.host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is not "busy"
        try:
            probe.bind((web.host, web.port))
        except OSError as exc:
            reason = "already in use" if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc)
            raise ConfigError(f"configuration error: web.port: {web.host}:{web.port}: {reason}", "web.port") from None


def _local_host(host: str) -> bool:
    """Loopback, private, link-local or a name only this network knows (no DNS lookup: an internal resolver may
    well answer a private address for the public name)."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host == "localhost" or host.endswith((".localhost", ".local", ".internal", ".lan")) or "." not in host
    return not address.is_global


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
