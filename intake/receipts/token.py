"""The receipt key on a PKCS#11 token or HSM (the agency's seal): found by labels, used one session at a time.

Public institutions seal with a key that never leaves its device. The key stays on the token; the certificate and
the rest of the chain found there are read once, when the key is opened (at start and by `intake check`).

Fork safety. The daemon forks a child per message (intake.sandbox) and the children sign. A PKCS#11 library that
a parent initialised must not be used by its child: the PKCS#11 base specification ("Applications and processes")
requires the child to call C_Initialize itself, and the parent's sessions mean nothing there (on a network HSM the
child would even speak over the parent's connection). So no process keeps the library initialised between two
operations: each one (opening the key, each signature) initialises the library, opens a session, logs in, does its
work, closes the session and finalises the library. A lock held for that time is also taken around every fork, so
no child is born in the middle of one. On SoftHSM2 the whole round costs a few milliseconds (bench/README.md).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.sign import signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from intake.outages import ServiceOutage
from intake.receipts.sign import SigningKeyError
from intake.settings import Pkcs11Settings

_lock = threading.Lock()
# Held around every fork: a child never inherits a library in the middle of an operation (see the docstring).
os.register_at_fork(before=_lock.acquire, after_in_parent=_lock.release, after_in_child=_lock.release)

_PROBE = b"intake: the token signs with the key of this certificate"


class TokenError(SigningKeyError):
    """The token, or the key on it, cannot be used. `key` is the configuration key to fix. The PIN is never in it."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


class TokenUnavailable(ServiceOutage):
    """The token failed while signing a receipt (it worked when the daemon started)."""


@dataclass(frozen=True)
class TokenKey:
    """Where the key is and how to log in: what a signing process needs to open its own session."""

    module: str
    token_label: str
    key_label: str
    pin: str = field(repr=False)
    pin_key: str  # where the PIN came from, to name in an error: "signing.pkcs11.pin_file" or "signing.pkcs11.pin"

    @property
    def where(self) -> str:
        return f"token {self.token_label!r}, key {self.key_label!r}"


def token_key(settings: Pkcs11Settings) -> TokenKey:
    """The configured key, with its PIN read (from `pin_file`, or `pin`, i.e. INTAKE_SIGNING__PKCS11__PIN)."""
    if settings.module is None:
        raise TokenError("signing.pkcs11.module", "not set (the path of the token's PKCS#11 library)")
    for name in ("token_label", "key_label"):
        if not getattr(settings, name).strip():
            raise TokenError(f"signing.pkcs11.{name}", "not set (the token and its key are found by their labels)")
    pin_given = settings.pin.get_secret_value()
    if settings.pin_file is not None and pin_given:
        raise TokenError(
            "signing.pkcs11.pin_file",
            "both signing.pkcs11.pin_file and signing.pkcs11.pin (INTAKE_SIGNING__PKCS11__PIN) are set: keep one",
        )
    if settings.pin_file is not None:
        try:
            pin = settings.pin_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise TokenError("signing.pkcs11.pin_file", f"cannot read {settings.pin_file}: {reason}") from None
        if not pin:
            raise TokenError("signing.pkcs11.pin_file", f"{settings.pin_file} is empty")
        pin_key = "signing.pkcs11.pin_file"
    elif pin_given:
        pin, pin_key = pin_given, "signing.pkcs11.pin"
    else:
        raise TokenError(
            "signing.pkcs11.pin_file", "no PIN: set signing.pkcs11.pin_file or INTAKE_SIGNING__PKCS11__PIN"
        )
    return TokenKey(str(settings.module), settings.token_label, settings.key_label, pin, pin_key)


class TokenSigner(signers.Signer):
    """A pyHanko signer whose private key stays on the token; each signature is one session of its own."""

    def __init__(self, key: TokenKey, certificate: asn1_x509.Certificate, chain: list[asn1_x509.Certificate]) -> None:
        store = SimpleCertificateStore()
        store.register_multiple([certificate, *chain])
        super().__init__(signing_cert=certificate, cert_registry=store)
        self.key = key

    @classmethod
    def open(cls, key: TokenKey) -> TokenSigner:
        """Log in, find the key and its certificate, read the other certificates (the chain) and sign a probe that
        the certificate must verify: a certificate that is not the key's would make every receipt invalid."""
        with session(key) as opened:
            handle = _private_key(opened, key)
            certificate, chain = _certificates(opened, key, handle)
            signer = cls(key, certificate, chain)
            probe = signer._sign_with(handle, _PROBE, "sha256")
        _verify_probe(key, certificate, probe)
        return signer

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        import pkcs11

        if dry_run:  # pyHanko measures the signature's size: no need to bother the token (its own estimate)
            return bytes(512)
        # The key opened at start: a failure now (token unplugged, PIN changed, HSM down) is the token's, not the
        # receipt's, and the message waits for it (intake.outages) instead of heading for quarantine.
        try:
            with session(self.key) as opened:
                return self._sign_with(_private_key(opened, self.key), data, digest_algorithm)
        except TokenError as exc:
            raise TokenUnavailable(str(exc)) from None
        except pkcs11.PKCS11Error as exc:
            raise TokenUnavailable(f"{self.key.where}: {type(exc).__name__}") from None

    def _sign_with(self, handle: Any, data: bytes, digest_algorithm: str) -> bytes:
        from pyhanko.sign.pkcs11 import select_pkcs11_signing_params

        spec = select_pkcs11_signing_params(
            self.get_signature_mechanism_for_digest(digest_algorithm),
            digest_algorithm.lower(),
            use_raw_mechanism=False,
            sign_kwargs={},
        )
        if spec.pre_sign_transform is not None:
            data = spec.pre_sign_transform(data)
        signature = handle.sign(data, **spec.sign_kwargs)
        return spec.post_sign_transform(signature) if spec.post_sign_transform is not None else signature


@contextlib.contextmanager
def session(key: TokenKey) -> Iterator[Any]:
    """A logged-in session on the token, in this process, and nothing left open afterwards (see the docstring)."""
    import pkcs11

    with _lock:
        library = _library(key)
        try:
            opened = _login(_token(library, key), key)
            try:
                yield opened
            finally:
                with contextlib.suppress(pkcs11.PKCS11Error):
                    opened.close()
        finally:
            with contextlib.suppress(pkcs11.PKCS11Error):
                library.finalize()


def _library(key: TokenKey) -> Any:
    import pkcs11

    if not Path(key.module).is_file():
        raise TokenError("signing.pkcs11.module", f"PKCS#11 module {key.module} not found")
    try:
        return pkcs11.lib(key.module)
    except pkcs11.PKCS11Error as exc:
        raise TokenError("signing.pkcs11.module", f"cannot load PKCS#11 module {key.module}: {exc}") from None


def _token(library: Any, key: TokenKey) -> Any:
    import pkcs11

    try:
        return library.get_token(token_label=key.token_label)
    except pkcs11.NoSuchToken:
        present = sorted(repr(slot.get_token().label) for slot in library.get_slots(token_present=True))
        listed = f"tokens present: {', '.join(present)}" if present else "no token present"
        raise TokenError(
            "signing.pkcs11.token_label", f"no token labelled {key.token_label!r} in {key.module} ({listed})"
        ) from None
    except pkcs11.MultipleTokensReturned:
        raise TokenError("signing.pkcs11.token_label", f"several tokens are labelled {key.token_label!r}") from None


def _login(token: Any, key: TokenKey) -> Any:
    import pkcs11

    try:
        return token.open(user_pin=key.pin)
    except pkcs11.PinIncorrect:
        raise TokenError(key.pin_key, f"token {key.token_label!r} refused the PIN") from None
    except pkcs11.PinLocked:
        raise TokenError(
            key.pin_key, f"the user PIN of token {key.token_label!r} is locked (unlock it with the SO PIN)"
        ) from None
    except pkcs11.PKCS11Error as exc:  # the PIN is never part of the library's message, only the error's name
        raise TokenError(key.pin_key, f"cannot log in to token {key.token_label!r}: {type(exc).__name__}") from None


def _private_key(opened: Any, key: TokenKey) -> Any:
    from pkcs11 import Attribute, ObjectClass

    found = list(opened.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.LABEL: key.key_label}))
    if len(found) == 1:
        return found[0]
    if found:
        raise TokenError("signing.pkcs11.key_label", f"{key.where}: several private keys carry this label")
    present = sorted(
        repr(obj[Attribute.LABEL]) for obj in opened.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY})
    )
    listed = f"keys present: {', '.join(present)}" if present else "no private key on it"
    raise TokenError(
        "signing.pkcs11.key_label",
        f"token {key.token_label!r} has no private key labelled {key.key_label!r} ({listed})",
    )


def _certificates(opened: Any, key: TokenKey, handle: Any) -> tuple[asn1_x509.Certificate, list[asn1_x509.Certificate]]:
    """The key's certificate (same label, else same CKA_ID) and its issuers found on the token."""
    from pkcs11 import Attribute, ObjectClass

    everything = [
        (obj[Attribute.LABEL], obj[Attribute.ID], bytes(obj[Attribute.VALUE]))
        for obj in opened.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE})
    ]
    key_id = _attribute(handle, Attribute.ID)
    own = [der for label, _, der in everything if label == key.key_label] or [
        der for _, cka_id, der in everything if key_id and cka_id == key_id
    ]
    if not own:
        raise TokenError(
            "signing.pkcs11.key_label", f"{key.where}: no certificate with the key's label or ID on the token"
        )
    certificate = asn1_x509.Certificate.load(own[0])
    return certificate, _issuers(certificate, [asn1_x509.Certificate.load(der) for _, _, der in everything])


def _issuers(certificate: asn1_x509.Certificate, found: list[asn1_x509.Certificate]) -> list[asn1_x509.Certificate]:
    """The chain above `certificate` among the certificates on the token (a token may hold others, unrelated)."""
    chain: list[asn1_x509.Certificate] = []
    current = certificate
    while current.self_signed == "no" and len(chain) < len(found):  # asn1crypto: "no", "maybe" or "yes"
        issuer = next((c for c in found if c.subject == current.issuer and c not in chain and c != current), None)
        if issuer is None:
            break
        chain.append(issuer)
        current = issuer
    return chain


def _attribute(handle: Any, attribute: Any) -> bytes | None:
    import pkcs11

    try:
        return bytes(handle[attribute])
    except (pkcs11.PKCS11Error, KeyError):
        return None


def _verify_probe(key: TokenKey, certificate: asn1_x509.Certificate, signature: bytes) -> None:
    public = x509.load_der_x509_certificate(certificate.dump()).public_key()
    try:
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, _PROBE, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signature, _PROBE, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise TokenError(
            "signing.pkcs11.key_label", f"{key.where}: the certificate found is not that of the key (probe signature)"
        ) from None
