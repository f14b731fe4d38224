"""What every job needs, built once from the settings and passed down (no module reads config on its own)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine

from intake.clock import Clock
from intake.db import make_engine
from intake.settings import ConfigError, Settings, SigningSettings, office_views
from intake.store import BlobStore


@dataclass
class Runtime:
    """One office's view of the deployment: `settings` are that office's (its mailbox, sender, calendar, key);
    the database, the store, the clock and the trust store are the deployment's, shared by every office."""

    settings: Settings
    engine: Engine
    store: BlobStore
    clock: Clock = field(default_factory=Clock)
    # The first office's runtime, which holds every office's (None: this one is the first).
    _first: Runtime | None = field(default=None, repr=False, compare=False)
    _views: dict[str, Runtime] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock | None = None) -> Runtime:
        """The runtime of the first office; `offices` / `for_office` give the others."""
        from intake import texts

        texts.configure(settings.texts.directory)  # the agency's edited wordings, before the packaged defaults
        views = office_views(settings)
        first = cls(
            settings=views[0],
            engine=make_engine(settings.database.url),
            store=BlobStore(settings.storage.path),
            clock=clock or Clock(),
        )
        first._views[first.office] = first
        for view in views[1:]:
            first._views[view.office.code] = cls(
                settings=view, engine=first.engine, store=first.store, clock=first.clock, _first=first
            )
        return first

    @property
    def office(self) -> str:
        return self.settings.office.code

    @property
    def offices(self) -> list[Runtime]:
        """Every office of the deployment, in configuration order (one for a single-office configuration)."""
        first = self._first or self
        return list(first._views.values()) or [self]

    @property
    def trust_office(self) -> str:
        """The office whose rows hold the deployment's trusted lists and their alerts: the first. Trust is shared
        (one TrustListState row per list, keyed by its source), so it is recorded, and alerted on, once."""
        return (self._first or self).office

    def for_office(self, code: str) -> Runtime | None:
        """The runtime of office `code`, or None when the deployment has no such office."""
        return next((rt for rt in self.offices if rt.office == code), None)

    @cached_property
    def signer(self):  # type: ignore[no-untyped-def]  # ReceiptSigner, imported lazily: pyhanko is slow to load
        return open_receipt_key(self.settings.signing)

    @cached_property
    def trust_store(self):  # type: ignore[no-untyped-def]  # TrustStore; loaded once per process
        from intake.signatures.trust_store import TrustStore

        if self._first is not None:  # trust is the deployment's: one copy of the lists for every office
            return self._first.trust_store

        return TrustStore.from_settings(self.settings.trust, self.settings.storage.path / "trust-cache")

    @cached_property
    def verification_policy(self):  # type: ignore[no-untyped-def]
        from intake.signatures.verify import VerificationPolicy

        if self._first is not None:  # its caches (revocation answers, paths) serve every office
            return self._first.verification_policy

        return VerificationPolicy(trust=self.trust_store, revocation=self.settings.trust.revocation)

    @cached_property
    def signature_policy(self):  # type: ignore[no-untyped-def]
        from intake.signatures.policy import SignaturePolicy

        return SignaturePolicy(accept_ades_qc=self.settings.trust.accept_ades_qc)

    @cached_property
    def link_secret(self) -> str:
        """The key that signs beneficiaries' appointment links: web.secret_key, or one made once and kept
        beside the store (a fresh key per process would break every link sent before a restart)."""
        if self._first is not None:  # [web] is the deployment's: one key for every office's links
            return self._first.link_secret
        configured = self.settings.web.secret_key.get_secret_value()
        if configured:
            return configured
        path = self.settings.storage.path / "link-secret"
        if not path.exists():
            _create_secret_once(path)
        return path.read_text(encoding="ascii").strip()


def open_receipt_key(signing: SigningSettings):  # type: ignore[no-untyped-def]  # -> ReceiptSigner
    """The office's receipt key, opened: the one place that knows where the key lives (a PKCS#12 file, or a PKCS#11
    token: `signing.pkcs11`). Any problem is a ConfigError naming the key to fix."""
    from intake.receipts.sign import ReceiptSigner, SigningKeyError

    if signing.on_token:
        return _open_token(signing)
    if signing.pkcs12_path is None:
        raise ConfigError(
            "configuration error: signing.pkcs12_path: not set (receipts must be signed: a PKCS#12 file, or a token "
            "with signing.pkcs11.module)",
            "signing.pkcs12_path",
        )
    try:
        return ReceiptSigner(
            signing.pkcs12_path,
            signing.pkcs12_password.get_secret_value() or None,
            timestamp_url=signing.timestamp_url,
        )
    except SigningKeyError as exc:
        raise ConfigError(f"configuration error: signing.pkcs12_path: {exc}", "signing.pkcs12_path") from None


def _open_token(signing: SigningSettings):  # type: ignore[no-untyped-def]  # -> ReceiptSigner
    from intake.receipts.sign import ReceiptSigner, SigningKeyError
    from intake.receipts.token import TokenSigner, token_key

    assert signing.pkcs11 is not None
    try:
        key = token_key(signing.pkcs11)
        return ReceiptSigner.on_token(TokenSigner.open(key), key.where, timestamp_url=signing.timestamp_url)
    except SigningKeyError as exc:  # a TokenError names its key; an expired certificate is the key's
        name = getattr(exc, "key", "signing.pkcs11.key_label")
        raise ConfigError(f"configuration error: {name}: {exc}", name) from None


def _create_secret_once(path: Path) -> None:
    """Several processes may start at once: each writes a complete candidate to its own file and links it into
    place; the first link wins and the others read the winner's key, so no process ever reads a half-written
    or empty file."""
    import contextlib
    import os
    import secrets
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    handle, candidate = tempfile.mkstemp(dir=path.parent, prefix=".link-secret.")
    try:
        with os.fdopen(handle, "w", encoding="ascii") as out:  # mkstemp creates it 0600
            out.write(secrets.token_urlsafe(48))
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another process won: its key is the key
            os.link(candidate, path)
    finally:
        os.unlink(candidate)
