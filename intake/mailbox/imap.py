"""The agency mailbox: fetch new mail, claim it durably, and move it only after it is handled.

Claim before work (guarantee 1): the raw bytes are fetched with BODY.PEEK[] (no \\Seen side effect),
stored and fsynced, and a row keyed by (account, folder, UIDVALIDITY, UID) is committed before any slow
step. The same bytes seen at another UID join the submission already claimed: one message, one number.
"""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlmodel import Session, col, select

from intake.clock import utcnow
from intake.db import transaction
from intake.models import TERMINAL_STATES, MailboxItem, PollState, Submission, SubmissionState
from intake.runtime import Runtime
from intake.settings import ImapSettings

log = logging.getLogger(__name__)

IMAP_ERRORS = (IMAPClientError, OSError, socket.timeout, ssl.SSLError)
# Fetch bodies in chunks of at most this many bytes, so one poll never holds a huge batch in memory.
FETCH_CHUNK_BYTES = 32 * 1024 * 1024


@dataclass
class FetchReport:
    seen: int = 0
    claimed: int = 0
    already_known: int = 0
    uidvalidity: int | None = None
    more: bool = False  # new messages left for the next cycle (imap.claims_per_cycle)


@contextmanager
def connect(settings: ImapSettings) -> Iterator[IMAPClient]:
    context = ssl.create_default_context() if settings.security != "none" else None
    client = IMAPClient(
        settings.host,
        port=settings.port,
        ssl=settings.security == "ssl",
        ssl_context=context,
        timeout=settings.timeout_seconds,
    )
    try:
        if settings.security == "starttls":
            client.starttls(context)
        client.login(settings.username, settings.password.get_secret_value())
        # Aware datetimes for INTERNALDATE: the legal 5-day deadline is counted from it.
        client.normalise_times = False
        yield client
    finally:
        try:
            client.logout()
        except IMAP_ERRORS:
            client.shutdown()


def ensure_folders(client: IMAPClient, settings: ImapSettings) -> None:
    for folder in (settings.processed_folder, settings.quarantine_folder):
        if not client.folder_exists(folder):
            client.create_folder(folder)


def fetch_new(rt: Runtime, client: IMAPClient) -> FetchReport:
    """Claim the messages of the watched folder that we have not claimed yet, the oldest first, at most
    imap.claims_per_cycle of them (`more` tells whether some are left)."""
    imap = rt.settings.imap
    info = client.select_folder(imap.folder)
    uidvalidity = int(info[b"UIDVALIDITY"])
    _note_uidvalidity(rt, imap, uidvalidity)
    known = _known_uids(rt, imap, uidvalidity)
    candidates = sorted(uid for uid in client.search("ALL") if uid not in known)
    report = FetchReport(seen=len(candidates) + len(known), uidvalidity=uidvalidity)
    if not candidates:
        return report
    # The oldest first (UIDs grow with arrival): what waited longest is claimed in this cycle.
    report.more = len(candidates) > imap.claims_per_cycle
    candidates = candidates[: imap.claims_per_cycle]
    sizes = {uid: int(data.get(b"RFC822.SIZE", 0)) for uid, data in client.fetch(candidates, ["RFC822.SIZE"]).items()}
    for chunk in _chunks(sorted(sizes), sizes):
        fetched = client.fetch(chunk, ["BODY.PEEK[]", "INTERNALDATE"])
        for uid in chunk:
            data = fetched.get(uid)
            if data is None or b"BODY[]" not in data:
                continue  # expunged by someone else between SEARCH and FETCH
            raw = bytes(data[b"BODY[]"])
            if claim(rt, uidvalidity=uidvalidity, uid=uid, raw=raw, internaldate=data.get(b"INTERNALDATE")):
                report.claimed += 1
            else:
                report.already_known += 1
    return report


def claim(rt: Runtime, *, uidvalidity: int, uid: int, raw: bytes, internaldate: datetime | None) -> bool:
    """Store the bytes durably, then commit the claim row. Returns False if this location was claimed."""
    imap = rt.settings.imap
    sha256 = rt.store.put(raw)  # fsynced before the row that points at it is committed
    received_at = _aware(internaldate)
    with transaction(rt.engine) as session:
        exists = session.exec(
            select(MailboxItem.id).where(
                MailboxItem.account == imap.account,
                MailboxItem.folder == imap.folder,
                MailboxItem.uidvalidity == uidvalidity,
                MailboxItem.uid == uid,
            )
        ).first()
        if exists is not None:
            return False
        submission = session.exec(
            select(Submission).where(Submission.office == rt.office, Submission.sha256 == sha256)
        ).first()
        if submission is None:
            submission = Submission(
                office=rt.office,
                sha256=sha256,
                size=len(raw),
                received_at=received_at,
                claimed_at=utcnow(),
                state=SubmissionState.RECEIVED,
            )
            session.add(submission)
            session.flush()
        session.add(
            MailboxItem(
                office=rt.office,
                account=imap.account,
                folder=imap.folder,
                uidvalidity=uidvalidity,
                uid=uid,
                sha256=sha256,
                submission_id=submission.id or 0,
                claimed_at=utcnow(),
            )
        )
    return True


def settle(rt: Runtime, client: IMAPClient) -> int:
    """Move handled messages out of the watched folder: to Processed, or to Quarantine for the ones we could
    not process. Only submissions whose outcome is committed are moved."""
    imap = rt.settings.imap
    info = client.select_folder(imap.folder)
    with transaction(rt.engine) as session:
        items = _settleable(session, rt, imap, int(info[b"UIDVALIDITY"]))
    targets = {
        item_id: imap.quarantine_folder if state == SubmissionState.QUARANTINED else imap.processed_folder
        for item_id, _uid, state in items
    }
    for target in set(targets.values()):
        _move(client, [uid for item_id, uid, _state in items if targets[item_id] == target], target)
    with transaction(rt.engine) as session:
        for item_id, target in targets.items():
            item = session.get_one(MailboxItem, item_id)
            item.imap_done = True
            item.imap_target = target
    return len(items)


def _settleable(session: Session, rt: Runtime, imap: ImapSettings, uidvalidity: int) -> list[tuple[int, int, str]]:

    rows = session.exec(
        select(MailboxItem.id, MailboxItem.uid, Submission.state)
        .join(Submission, col(Submission.id) == col(MailboxItem.submission_id))
        .where(
            MailboxItem.account == imap.account,
            MailboxItem.folder == imap.folder,
            MailboxItem.uidvalidity == uidvalidity,
            col(MailboxItem.imap_done).is_(False),
            col(Submission.state).in_(TERMINAL_STATES),
        )
    ).all()
    return [(int(item_id), int(uid), str(state)) for item_id, uid, state in rows if item_id is not None]


def _move(client: IMAPClient, uids: list[int], target: str) -> None:
    if client.has_capability("MOVE"):
        client.move(uids, target)
        return
    client.copy(uids, target)
    client.delete_messages(uids)
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(uids)
    else:
        client.expunge()


def _known_uids(rt: Runtime, imap: ImapSettings, uidvalidity: int) -> set[int]:
    with transaction(rt.engine) as session:
        rows = session.exec(
            select(MailboxItem.uid).where(
                MailboxItem.account == imap.account,
                MailboxItem.folder == imap.folder,
                MailboxItem.uidvalidity == uidvalidity,
            )
        ).all()
    return set(rows)


def _chunks(uids: list[int], sizes: dict[int, int]) -> Iterator[list[int]]:
    chunk: list[int] = []
    total = 0
    for uid in uids:
        if chunk and total + sizes[uid] > FETCH_CHUNK_BYTES:
            yield chunk
            chunk, total = [], 0
        chunk.append(uid)
        total += sizes[uid]
    if chunk:
        yield chunk


def _aware(moment: datetime | None) -> datetime:
    if moment is None:
        return utcnow()
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _note_uidvalidity(rt: Runtime, imap: ImapSettings, uidvalidity: int) -> None:
    """A new UIDVALIDITY means the folder was recreated and every UID is new: the messages are claimed again,
    and the content hash makes each one join the submission it already is."""
    with transaction(rt.engine) as session:
        state = session.get(PollState, (imap.account, imap.folder))
        if state is None:
            state = PollState(account=imap.account, folder=imap.folder, office=rt.office)
        elif state.uidvalidity not in (None, uidvalidity):
            log.warning(
                "UIDVALIDITY of %s/%s changed (%s -> %s): re-checking every message",
                imap.account,
                imap.folder,
                state.uidvalidity,
                uidvalidity,
            )
        state.uidvalidity = uidvalidity
        session.add(state)


def record_poll(rt: Runtime, *, error: str | None) -> None:
    imap = rt.settings.imap
    with transaction(rt.engine) as session:
        state = session.get(PollState, (imap.account, imap.folder))
        if state is None:
            state = PollState(account=imap.account, folder=imap.folder, office=rt.office)
        if error is None:
            state.last_success_at = utcnow()
            state.consecutive_failures = 0
        else:
            state.last_error = error[:500]
            state.last_error_at = utcnow()
            state.consecutive_failures += 1
        session.add(state)
