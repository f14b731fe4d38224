"""The configuration: one pydantic model, built once from config/intake.toml and INTAKE_* variables.

Priority (highest first): values passed in code, `INTAKE_<SECTION>__<KEY>` environment variables, the TOML
file, the defaults below. Every key is documented in config/intake.toml.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

DEFAULT_CONFIG_PATH = Path("config/intake.toml")

Security = Literal["ssl", "starttls", "none"]


class Section(BaseModel):
    # A typo in a key must stop start-up rather than be silently ignored.
    model_config = ConfigDict(extra="forbid")


class ImapSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(993, ge=1, le=65535)
    security: Security = "ssl"
    username: str = ""
    password: SecretStr = SecretStr("")
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    quarantine_folder: str = "Quarantine"
    poll_interval_seconds: int = Field(60, ge=1)
    idle: bool = True
    fetch_batch: int = Field(50, ge=1)
    # New messages claimed per cycle at most: after an outage, a backlog is worked through in bounded cycles, each
    # acknowledged and receipted before the next is claimed, instead of one cycle over the whole mailbox.
    claims_per_cycle: int = Field(200, ge=1)
    timeout_seconds: float = Field(30.0, gt=0)
    # How the mailbox is named where its login must not show (the /metrics labels); empty: the office code.
    name: str = ""
    # The authserv-id of the agency's own MX: only its Authentication-Results headers are believed (RFC 8601 §5).
    # Empty: none are, every sender counts as "none" (not authenticated, not failed).
    authserv_id: str = ""

    @property
    def account(self) -> str:
        """The name that keys claims: one mailbox = one account (a port or TLS change keeps the same key)."""
        return f"{self.username}@{self.host}"


class SmtpSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(587, ge=1, le=65535)
    security: Security = "starttls"
    username: str = ""
    password: SecretStr = SecretStr("")
    from_address: str = "cluj@anofm.gov.ro"
    from_name: str = "AJOFM Cluj – Registratură"
    timeout_seconds: float = Field(30.0, gt=0)


class DatabaseSettings(Section):
    url: str = "sqlite:///var/intake.db"

    @field_validator("url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        # A typo here used to surface as a driver error with exit code 1, long after the key was forgotten.
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError:
            raise ValueError(f"{value!r} is not a database URL (sqlite:///PATH or postgresql+psycopg://...)") from None
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"{backend!r} databases are not supported (sqlite:///PATH or postgresql+psycopg://...)")
        return value


class StorageSettings(Section):
    path: Path = Path("var/storage")


class OfficeSettings(Section):
    code: str = "CJ"
    name: str = "Agenția Județeană pentru Ocuparea Forței de Muncă Cluj"
    # Romanian declines the name: "la registratura Agenției Județene …" (contract.md office.name_genitive).
    name_genitive: str = "Agenției Județene pentru Ocuparea Forței de Muncă Cluj"
    short_name: str = "AJOFM Cluj"  # "Un funcționar al AJOFM Cluj vă va contacta"
    # On every recipisă and appointment notice: the full street address, e.g. "Str. Gheorghe Doja nr. 2,
    # 400068 Cluj-Napoca, județul Cluj" (config/intake.toml).
    address: str = "Cluj-Napoca, județul Cluj"
    timezone: str = "Europe/Bucharest"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class Pkcs11Settings(Section):
    """The receipt key on a token or HSM (PKCS#11), found by labels. In use when any key but `pin` is set (the PIN
    alone may come from a service environment shared with PKCS#12 deployments)."""

    module: Path | None = None  # the vendor's PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so
    token_label: str = ""
    key_label: str = ""  # the private key's label; the certificate carries the same label (or the key's CKA_ID)
    pin_file: Path | None = None  # a file readable by intake only, holding the user PIN
    pin: SecretStr = SecretStr("")  # or the PIN itself, as INTAKE_SIGNING__PKCS11__PIN (never in the file)

    @property
    def given(self) -> bool:
        return bool(self.module or self.token_label or self.key_label or self.pin_file)


class SigningSettings(Section):
    pkcs12_path: Path | None = None
    pkcs12_password: SecretStr = SecretStr("")
    timestamp_url: str | None = None
    pkcs11: Pkcs11Settings | None = None

    @property
    def on_token(self) -> bool:
        return self.pkcs11 is not None and self.pkcs11.given

    @model_validator(mode="after")
    def _one_key_source(self) -> SigningSettings:
        if self.pkcs12_path is not None and self.on_token:
            raise ValueError(
                "signing.pkcs12_path and signing.pkcs11 are both set: the receipt key is either a PKCS#12 file or "
                "on a token, remove one"
            )
        return self


class ArchiveSettings(Section):
    """Evidence that lasts as long as the file (`intake archive refresh`, `intake.receipts.evidence`)."""

    # A receipt whose newest time-stamp, or whose certificates, expire within this many days gets a new document
    # time-stamp (PAdES B-LTA).
    refresh_before_days: int = Field(180, ge=1)
    # At most this many receipts per run, the most urgent first (~0.5 s each against a TSA): when one TSA certificate
    # nears its end for years of receipts, the work is spread over the days of the margin instead of one long night.
    refresh_per_run: int = Field(2000, ge=1)
    # The received e-mail is embedded in the recipisă up to this size; above it, its header section and SHA-256
    # (the reply carrying the receipt must stay under limits.max_reply_bytes).
    embed_max_bytes: int = Field(2 * 1024 * 1024, ge=0)


class TrustListSource(Section):
    source: str
    signer: Path | None = None


class TrustSettings(Section):
    lists: list[TrustListSource] = []
    lotl: str = ""
    anchors: list[Path] = []
    revocation: Literal["require", "soft-fail", "off"] = "require"
    accept_ades_qc: bool = False  # also accept a qualified certificate without QSCD evidence (AdES-QC)
    refresh_hours: int = Field(24, ge=1)  # how often the daemon re-fetches URL lists and the LOTL
    # Past its NextUpdate (plus this grace) a list is expired: signatures that depend on it are indeterminate.
    next_update_grace_hours: int = Field(0, ge=0)
    # PEM files of the LOTL signing certificates published in the Official Journal (empty: pyHanko's bundled set).
    lotl_signers: list[Path] = []


class LimitsSettings(Section):
    max_message_bytes: int = Field(40 * 1024 * 1024, ge=1024)
    max_attachment_bytes: int = Field(15 * 1024 * 1024, ge=1)
    max_attachments: int = Field(30, ge=1)
    # MIME parts read per message; the rest are counted and named in one finding, never stored one by one.
    max_parts: int = Field(200, ge=10)
    max_reply_bytes: int = Field(5 * 1024 * 1024, ge=64 * 1024)  # hard cap on any message the outbox sends
    max_image_pixels: int = Field(60_000_000, ge=1)
    # Memory one image decode may allocate (width × height × bytes per pixel); larger images are integrity-checked
    # without decoding, judged on their size for legibility and get no preview (issue 10 point 4).
    max_decoded_image_bytes: int = Field(128 * 1024 * 1024, ge=1024 * 1024)
    reply_cap_per_sender: int = Field(10, ge=0)
    reply_cap_window_hours: int = Field(24, ge=1)


class RepliesSettings(Section):
    acknowledgement: bool = True


def _cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class WorkerSettings(Section):
    max_attempts: int = Field(3, ge=1)
    # Every message is processed in a child process within these budgets, or stopped and quarantined.
    message_timeout_seconds: float = Field(30.0, gt=0)
    message_memory_mb: int = Field(512, ge=64)
    isolate: bool = True  # false: in the daemon's own process, budgets not enforced (debugging only)
    # How many of those children run at a time (registration stays serial, in order of arrival).
    processes: int = Field(default_factory=lambda: _cores(), ge=1)
    outbox_max_attempts: int = Field(12, ge=1)
    outbox_backoff_seconds: float = Field(30.0, gt=0)
    outbox_backoff_max_seconds: float = Field(3600.0, gt=0)
    outbox_interval_seconds: int = Field(15, ge=1)


class ClosureSettings(Section):
    start: date
    end: date  # inclusive
    reason: str = ""


class AppointmentsSettings(Section):
    """The office's calendar and booking rules (procedure 000 "Programarea prealabilă")."""

    # Opening hours per ISO weekday name, as "HH:MM-HH:MM" intervals (a break is the gap between two).
    hours: dict[str, list[str]] = {
        "monday": ["08:30-12:30", "13:00-16:00"],
        "tuesday": ["08:30-12:30", "13:00-16:00"],
        "wednesday": ["08:30-12:30", "13:00-16:00"],
        "thursday": ["08:30-12:30", "13:00-16:00"],
        "friday": ["08:30-13:30"],
    }
    slot_minutes: int = Field(15, ge=5, le=240)
    desks: int = Field(2, ge=1)  # appointments per slot
    clarification_reserved_desks: int = Field(1, ge=0)  # of `desks`, never given to decision appointments
    overflow_desks: int = Field(1, ge=0)  # extra capacity used only to keep the legal deadline
    deadline_working_days: int = Field(5, ge=1)  # clarification: no later than this many working days
    decision_horizon_working_days: int = Field(15, ge=1)  # decision appointments: no legal limit, a horizon
    extra_closed_days: list[date] = []  # government bridge days and other one-off closures
    closures: list[ClosureSettings] = []  # office closures (ranges)
    reminder_hour: int = Field(9, ge=0, le=23)  # reminders go out the working day before, from this hour
    link_validity_days: int = Field(10, ge=1)  # how long a reschedule/cancel link works
    public_base_url: str = "http://127.0.0.1:8080"  # where beneficiaries open the reschedule link
    # The case status link (/dosar/<token>, in every reply) works until this many days after the case's last
    # activity: a message received, anything recorded on it, the end of its visit (intake.case_link).
    status_link_days: int = Field(90, ge=1, le=3650)
    # Minimum notice of an appointment we choose (not of one the beneficiary picks with the link): nothing earlier
    # than this wall-clock time on the first working day after the booking day ("" = from opening), and nothing
    # within `minimum_notice_hours` of the booking. The legal deadline wins over both.
    next_day_not_before: str = "12:00"
    minimum_notice_hours: int = Field(0, ge=0, le=24 * 14)
    # A complete case waits for a clerk to confirm it (procedure 000 step 8: "conforme"); after this many working
    # days with no finding at all it is confirmed automatically. 0 = never (a clerk always confirms).
    decision_auto_confirm_days: int = Field(0, ge=0, le=60)
    # Visits the pipeline books by itself for incoming e-mail within any 60 minutes: past it, ops get an alert and
    # the case waits for a clerk to book it (a flood of forged mail must not fill the legal window).
    max_automatic_per_hour: int = Field(30, ge=1)

    @field_validator("next_day_not_before")
    @classmethod
    def _wall_clock_time(cls, value: str) -> str:
        from datetime import time

        value = value.strip()
        if value:
            try:
                time.fromisoformat(value)
            except ValueError:
                raise ValueError(f"{value!r} is not HH:MM (or empty for no limit)") from None
        return value


class AlertsSettings(Section):
    ops_address: str = ""  # where alerts go (empty: alerts are only logged and shown in status)
    poll_failure_minutes: int = Field(15, ge=1)  # alert when polling has failed for longer than this
    trusted_list_stale_hours: int = Field(48, ge=1)  # alert when our copy of a list was not refreshed for longer


class LoggingSettings(Section):
    # "text": one line per event for a terminal; "json": one JSON object per line (journald, Loki), same masking.
    format: Literal["text", "json"] = "text"


class TextsSettings(Section):
    # A folder of edited message templates (one file per message, see intake/texts/): a file there replaces the
    # packaged default of the same name. Empty: the defaults.
    directory: Path | None = None


class WebSettings(Section):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    secret_key: SecretStr = SecretStr("")  # signs session cookies and links; empty: one is made and kept
    secure_cookies: bool = False  # true behind HTTPS (the production setup): cookies only over TLS, and HSTS
    session_hours: int = Field(10, ge=1)
    # Addresses or CIDRs of the reverse proxies whose X-Forwarded-For is believed (e.g. ["127.0.0.1"] for nginx
    # on the same host). Empty: the header is ignored and the connecting address is the client's.
    trusted_proxies: list[str] = []
    report_secret: SecretStr = SecretStr("")  # keys the pseudonymous CNP identifier of reports (art. 12, 17)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or CIDR") from None
        return [entry.strip() for entry in value]


class RetentionSettings(Section):
    """How long personal data is kept, in days from the case's last activity (intake/retention.py). The sources of
    the procedure set no period; Legea 16/1996 (Arhivele Naționale) leaves it to the agency's nomenclator of
    archival records. Ten years (3653 days) is the conservative default until the nomenclator says otherwise."""

    raw_mail_days: int = Field(3653, ge=1)  # the .eml as received, and the sender's address, name, subject, body
    attachments_days: int = Field(3653, ge=1)  # attached documents, their file names, the CNPs read from forms
    evidence_days: int = Field(3653, ge=1)  # recipise, replies sent, signature validation reports
    audit_days: int = Field(3653, ge=1)  # staff audit trail entries, from each entry's own time
    ignored_mail_days: int = Field(365, ge=1)  # machine mail never registered (auto-replies, bounces, lists)
    purge_hour: int = Field(3, ge=0, le=23)  # `intake run` purges once a day at this hour (office time)


class OfficeEntry(Section):
    """One office of a deployment that serves several (`[[offices]]`).

    The office's own keys are required: a default would put Cluj's name on another county's receipts. Its
    mailbox, sender, calendar and receipt key are the top-level `[imap]`, `[smtp]`, `[appointments]` and
    `[signing]` with the keys given here laid over them, so what all offices share (servers, ports) is written
    once. Only the keys written in the entry count as given (`model_fields_set`), never a section's defaults."""

    code: str = Field(pattern=r"^[A-Z0-9]{1,8}$")  # "CJ", "BH", "B": carried by every record of the office
    name: str
    name_genitive: str
    short_name: str
    address: str
    timezone: str | None = None  # None: the top-level office.timezone
    imap: ImapSettings = ImapSettings()
    smtp: SmtpSettings = SmtpSettings()
    appointments: AppointmentsSettings = AppointmentsSettings()
    signing: SigningSettings = SigningSettings()

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        return None if value is None else OfficeSettings._known_timezone(value)


class KeyedError(ValueError):
    """A problem whose key is deeper than the validator that finds it (e.g. `offices.1.code`)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="INTAKE_",
        env_nested_delimiter="__",
        extra="forbid",
        case_sensitive=False,
    )

    imap: ImapSettings = ImapSettings()
    smtp: SmtpSettings = SmtpSettings()
    database: DatabaseSettings = DatabaseSettings()
    storage: StorageSettings = StorageSettings()
    office: OfficeSettings = OfficeSettings()
    signing: SigningSettings = SigningSettings()
    archive: ArchiveSettings = ArchiveSettings()
    trust: TrustSettings = TrustSettings()
    limits: LimitsSettings = LimitsSettings()
    replies: RepliesSettings = RepliesSettings()
    appointments: AppointmentsSettings = AppointmentsSettings()
    alerts: AlertsSettings = AlertsSettings()
    worker: WorkerSettings = WorkerSettings()
    web: WebSettings = WebSettings()
    texts: TextsSettings = TextsSettings()
    logging: LoggingSettings = LoggingSettings()
    retention: RetentionSettings = RetentionSettings()
    # Several offices in one deployment; empty: the one office of the top-level sections (see office_views).
    offices: list[OfficeEntry] = []

    @model_validator(mode="after")
    def _distinct_offices(self) -> Settings:
        """Two entries with one code would share numbering and cases; two with one mailbox would claim each
        other's mail, and two with one sender would answer in each other's name (an entry without its own
        `imap.username` or `smtp.from_address` inherits the top-level one)."""
        codes: dict[str, int] = {}
        mailboxes: dict[tuple[str, str], int] = {}
        senders: dict[str, int] = {}
        for index, view in enumerate(office_views(self) if self.offices else []):
            code = view.office.code
            if code in codes:
                raise KeyedError(f"offices.{index}.code", f"office {code} is already offices.{codes[code]}")
            codes[code] = index
            mailbox = (view.imap.account, view.imap.folder)
            if mailbox in mailboxes:
                raise KeyedError(
                    f"offices.{index}.imap.username",
                    f"mailbox {mailbox[0]} {mailbox[1]} is already that of offices.{mailboxes[mailbox]}",
                )
            mailboxes[mailbox] = index
            sender = view.smtp.from_address.lower()
            if sender in senders:
                raise KeyedError(
                    f"offices.{index}.smtp.from_address", f"{sender} is already the sender of offices.{senders[sender]}"
                )
            senders[sender] = index
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = _CONFIG_PATH_FOR_LOADING
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)


def office_views(settings: Settings) -> list[Settings]:
    """One single-office Settings per office, in configuration order: the settings themselves when there is no
    `[[offices]]`, else each entry over the top-level sections (a view has no `offices` of its own)."""
    if not settings.offices:
        return [settings]
    return [_office_view(settings, entry) for entry in settings.offices]


def _office_view(settings: Settings, entry: OfficeEntry) -> Settings:
    def over(base: Section, given: Section) -> Section:
        return base.model_copy(update={key: getattr(given, key) for key in given.model_fields_set})

    office = OfficeSettings.model_construct(
        code=entry.code,
        name=entry.name,
        name_genitive=entry.name_genitive,
        short_name=entry.short_name,
        address=entry.address,
        timezone=entry.timezone or settings.office.timezone,
    )
    return settings.model_copy(
        update={
            "office": office,
            "imap": over(settings.imap, entry.imap),
            "smtp": over(settings.smtp, entry.smtp),
            "appointments": over(settings.appointments, entry.appointments),
            "signing": _signing_over(settings.signing, entry.signing),
            "offices": [],
        }
    )


def _signing_over(base: SigningSettings, given: SigningSettings) -> SigningSettings:
    """An office's own key replaces the shared one of the other kind (a PKCS#12 file for one office, a token for the
    others), and its `pkcs11` keys are laid over the shared `[signing.pkcs11]` key by key: offices on one HSM share
    the module and the PIN and name their own token and key labels."""
    update = {key: getattr(given, key) for key in given.model_fields_set}
    if given.pkcs11 is not None:
        shared = base.pkcs11 or Pkcs11Settings()
        update["pkcs11"] = shared.model_copy(
            update={k: getattr(given.pkcs11, k) for k in given.pkcs11.model_fields_set}
        )
    if "pkcs12_path" in given.model_fields_set and "pkcs11" not in update:
        update["pkcs11"] = None
    elif update.get("pkcs11") is not None and update["pkcs11"].given and "pkcs12_path" not in update:
        update["pkcs12_path"] = None
    return base.model_copy(update=update)


class ConfigError(Exception):
    """A bad configuration: the message is one line naming the key and the problem (`key`, when known, for
    `intake check`)."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


# pydantic-settings builds sources from the class, so the chosen file travels through this module-level
# slot for the duration of one load() call only.
_CONFIG_PATH_FOR_LOADING: Path | None = None


def resolve_config_path(explicit: str | os.PathLike[str] | None) -> Path | None:
    if explicit:
        return Path(explicit)
    from_env = os.environ.get("INTAKE_CONFIG")
    if from_env:
        return Path(from_env)
    return DEFAULT_CONFIG_PATH if DEFAULT_CONFIG_PATH.exists() else None


def load_settings(config_path: str | os.PathLike[str] | None = None, **overrides: object) -> Settings:
    """Build the settings once; raise ConfigError with one clear line on any problem."""
    global _CONFIG_PATH_FOR_LOADING
    path = resolve_config_path(config_path)
    if path is not None and not path.is_file():
        raise ConfigError(f"configuration file {path} does not exist")
    _CONFIG_PATH_FOR_LOADING = path
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        key, line = _first_error_line(exc)
        raise ConfigError(line, key) from None
    except SettingsError as exc:
        raise _source_error(exc, path) from None
    except Exception as exc:  # TOML syntax errors and the like
        raise ConfigError(f"cannot read configuration {path}: {exc}") from None
    finally:
        _CONFIG_PATH_FOR_LOADING = None


def _source_error(exc: SettingsError, path: Path | None) -> ConfigError:
    """pydantic-settings names only the top-level field ("trust") when a value cannot be parsed: name the
    environment variable that holds it (a list or table must be JSON there) and its key."""
    field = _SOURCE_FIELD.search(str(exc))
    section = field.group(1) if field else ""
    cause = exc.__cause__ or exc.__context__
    if "EnvSettingsSource" in str(exc) and section:
        prefix = f"INTAKE_{section.upper()}"
        for name, value in sorted(os.environ.items()):
            upper = name.upper()
            if upper != prefix and not upper.startswith(prefix + "__"):
                continue
            try:
                json.loads(value)
            except ValueError:
                key = upper.removeprefix("INTAKE_").lower().replace("__", ".")
                return ConfigError(f"configuration error: {key} ({name}): not valid JSON: {value!r}", key)
        return ConfigError(f"configuration error: {section} (INTAKE_{section.upper()}…): {cause or exc}", section)
    return ConfigError(f"cannot read configuration {path}: {cause or exc}", section or None)


_SOURCE_FIELD = re.compile(r'field "([^"]+)"')


def _first_error_line(exc: ValidationError) -> tuple[str, str]:
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"]) or "(root)"
    message = error["msg"].removeprefix("Value error, ")  # pydantic's prefix for a validator's ValueError
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, KeyedError):
        key, message = cause.key, str(cause)
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    more = len(exc.errors()) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return key, f"configuration error: {key}: {message}{suffix}"
