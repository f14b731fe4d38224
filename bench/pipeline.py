"""Throughput of one poll cycle: N messages through Dovecot → intake (`run_cycle`) → SMTP sink.

    .venv/bin/python bench/pipeline.py [--messages N] [--mix good|mixed] [--processes N] [--json]

A private Dovecot and the test SMTP sink run on 127.0.0.1, with a throw-away signing key, SQLite database
and blob store in a temp dir. The N messages are APPENDed first (timed apart: that is the mail server's
time, not intake's), then the production cycle runs once, in-process, exactly as `intake poll --once`
would, and is timed wall-clock. Afterwards every expected reply must have reached the sink and INBOX must
be empty, otherwise the figures would describe a run that did not do the work.

Per-stage times come from the `stage:<name>` Event rows the pipeline writes anyway. The IMAP, settle and
SMTP parts have no such rows, so this script wraps those module functions with timers for the duration of
the run (benchmark-only monkeypatching: the core code is not changed).
"""

from __future__ import annotations

import _thread
import argparse
import contextlib
import functools
import json
import logging
import os
import platform
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from unittest import mock

REPO = Path(__file__).resolve().parents[1]
# Run as `python bench/pipeline.py`, sys.path[0] is bench/, where this file would shadow any top-level
# module named "pipeline"; the repository root is what `tests.servers` and `intake` need.
if sys.path and Path(sys.path[0] or ".").resolve() == REPO / "bench":
    sys.path.pop(0)
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pydantic import SecretStr  # noqa: E402
from sqlmodel import col, func, select  # noqa: E402

import intake  # noqa: E402
from intake import outbox, pipeline, scheduler  # noqa: E402
from intake.db import transaction  # noqa: E402
from intake.mailbox import imap  # noqa: E402
from intake.models import Event, OutboxMessage, Submission  # noqa: E402
from intake.receipts.keys import generate_pkcs12  # noqa: E402
from intake.runtime import Runtime  # noqa: E402
from intake.settings import (  # noqa: E402
    DatabaseSettings,
    ImapSettings,
    LimitsSettings,
    OfficeSettings,
    RepliesSettings,
    Settings,
    SigningSettings,
    SmtpSettings,
    StorageSettings,
    WorkerSettings,
)
from intake.stages import receipt as receipt_stage  # noqa: E402
from tests import mailfactory  # noqa: E402
from tests.servers.dovecot import DovecotServer, make_dovecot_base, start_dovecot  # noqa: E402
from tests.servers.smtp_sink import SmtpSink, start_smtp_sink  # noqa: E402

log = logging.getLogger("bench.pipeline")

KEY_PASSWORD = "bench"
# Each message kind and the number of replies it must produce (acknowledgement + receipt, or none).
REPLIES_PER_KIND = {"good": 2, "rejected": 2, "auto_reply": 0, "bounce": 0}
# Same-length placeholder in the PDF's /Info title, replaced per message: unique bytes without
# re-rendering the PDF (fpdf2 takes ~40 ms per document) and without moving any xref offset.
PDF_TOKEN = b"bench-0000000000"
SINK_WAIT_SECONDS = 60.0

T = TypeVar("T")


# --------------------------------------------------------------------------------------------------
# The messages


@dataclass(frozen=True)
class Templates:
    """Attachments rendered once; every message gets a byte-unique copy (see `_unique_*`).

    Unique bytes matter: the blob store skips writing (and fsyncing) content it already holds, so
    N identical attachments would make the claim and parse stages look cheaper than in production.
    """

    pdf: bytes
    jpeg: bytes
    png: bytes


def make_templates() -> Templates:
    from fpdf import FPDF

    # The content of mailfactory.pdf_document(pages=2) (an application form, so classification and the
    # qualified-signature rule see what they see in production), plus the placeholder title.
    pdf = FPDF()
    pdf.set_title(PDF_TOKEN.decode("ascii"))
    pdf.add_font("DejaVu", fname=str(mailfactory.FONT))
    pdf.set_font("DejaVu", size=12)
    for page in range(2):
        pdf.add_page()
        pdf.multi_cell(
            0,
            8,
            f"CERERE pentru acordarea indemnizației de șomaj\nPagina {page + 1} din 2\n"
            "Subsemnatul Ion Popescu, domiciliat în Cluj-Napoca.",
        )
    pdf_bytes = bytes(pdf.output())
    if pdf_bytes.count(PDF_TOKEN) != 1:
        raise RuntimeError("fpdf2 no longer writes the title as a plain string: adapt PDF_TOKEN")
    return Templates(pdf=pdf_bytes, jpeg=mailfactory.jpeg_image(), png=mailfactory.png_image())


def _unique_pdf(template: bytes, index: int) -> bytes:
    return template.replace(PDF_TOKEN, f"bench-{index:010d}".encode("ascii"))


def _unique_jpeg(template: bytes, index: int) -> bytes:
    # A COM segment right after SOI: valid JPEG, decodes to the same pixels.
    comment = f"bench {index}".encode("ascii")
    return template[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + template[2:]


def _unique_png(template: bytes, index: int) -> bytes:
    # A tEXt chunk right after IHDR (8-byte signature + 25-byte IHDR chunk).
    body = b"Comment\x00" + f"bench {index}".encode("ascii")
    chunk = struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", zlib.crc32(b"tEXt" + body))
    return template[:33] + chunk + template[33:]


def plan(count: int, mix: str) -> list[str]:
    """The kind of every message, interleaved the way a real mailbox would be.

    mixed: 1 in 20 auto-replies, 1 in 20 bounces (10 % machine mail), 1 in 10 submissions with a
    forbidden attachment, the rest good submissions with 3 attachments.
    """
    if mix == "good":
        return ["good"] * count
    kinds = []
    for index in range(count):
        slot = index % 20
        if slot == 7:
            kinds.append("auto_reply")
        elif slot == 17:
            kinds.append("bounce")
        elif slot in (3, 13):
            kinds.append("rejected")
        else:
            kinds.append("good")
    return kinds


def build_message(kind: str, index: int, templates: Templates) -> bytes:
    # One sender per message: the per-sender reply cap (10 a day) must not silence any reply.
    sender = f"solicitant{index:05d}@example.ro"
    if kind == "auto_reply":
        return mailfactory.auto_reply(sender=sender).as_bytes()
    if kind == "bounce":
        # The factory's bounce has fixed bytes; same bytes would join one submission.
        return mailfactory.bounce(original_recipient=f"absent{index:05d}@example.ro")
    attachments = [
        ("cerere indemnizație șomaj.pdf", _unique_pdf(templates.pdf, index), "application/pdf"),
        ("buletin.jpg", _unique_jpeg(templates.jpeg, index), "image/jpeg"),
        ("diplomă.png", _unique_png(templates.png, index), "image/png"),
    ]
    if kind == "rejected":
        docx = b"PK\x03\x04" + b"\x00" * 100 + f"bench {index}".encode("ascii")
        attachments.append(
            ("contract.docx", docx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        )
    message = mailfactory.submission(
        sender=sender, sender_name=f"Solicitant {index}", subject=f"Cerere {index}", attachments=attachments
    )
    return message.as_bytes()


# --------------------------------------------------------------------------------------------------
# Timers around the parts of the cycle that write no Event rows


@dataclass
class Timers:
    calls: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def wrap(self, name: str, fn: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> T:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.calls[name].append(time.perf_counter() - started)

        return timed

    def wrap_async(self, name: str, fn: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
        @functools.wraps(fn)
        async def timed(*args: Any, **kwargs: Any) -> T:
            started = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                self.calls[name].append(time.perf_counter() - started)

        return timed


# (label, module, attribute, async?) — the modules are looked up at call time by the cycle
# (`imap.fetch_new(...)`, `outbox.send_due(...)`), so patching the module attribute is enough.
PROBES: tuple[tuple[str, Any, str, bool], ...] = (
    ("trust lists (record)", scheduler, "record_trust_lists", False),
    ("IMAP fetch + claim", imap, "fetch_new", False),
    ("  claim (store + DB)", imap, "claim", False),
    ("pipeline passes", pipeline, "process_pending", False),
    ("  receipt: render PDF", receipt_stage, "render_receipt", False),
    ("SMTP send_due", outbox, "send_due", False),
    ("  SMTP per message", outbox, "_send_one", True),
    ("settle (IMAP MOVE)", imap, "settle", False),
)


SIGN_LABEL = "  receipt: sign PDF"
PROBE_ORDER = [label for label, *_ in PROBES]
PROBE_ORDER.insert(PROBE_ORDER.index("  receipt: render PDF") + 1, SIGN_LABEL)


@contextlib.contextmanager
def probes(timers: Timers) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for label, module, attribute, is_async in PROBES:
            original = getattr(module, attribute, None)
            if original is None:  # an older or newer core without this function: measure the rest
                continue
            wrapped = timers.wrap_async(label, original) if is_async else timers.wrap(label, original)
            stack.enter_context(mock.patch.object(module, attribute, wrapped))
        stack.enter_context(_signer_probe(timers))
        yield


@contextlib.contextmanager
def _signer_probe(timers: Timers) -> Iterator[None]:
    """Time ReceiptSigner.sign without importing it first.

    Importing intake.receipts.sign (pyhanko) here would move ~1 s of imports out of the measured cycle,
    so the probe hooks the lazy `Runtime.signer` instead and wraps the signer it creates.
    """
    original = Runtime.__dict__.get("signer")
    if not isinstance(original, functools.cached_property):
        yield
        return

    def signer(rt: Runtime) -> Any:
        created = original.func(rt)
        created.sign = timers.wrap(SIGN_LABEL, created.sign)  # instance attribute shadows the method
        return created

    probe = functools.cached_property(signer)
    probe.__set_name__(Runtime, "signer")
    with mock.patch.object(Runtime, "signer", probe):
        yield


# --------------------------------------------------------------------------------------------------
# Statistics


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: with few samples it reports a value that was really measured."""
    if not sorted_values:
        return 0.0
    rank = max(1, -(-len(sorted_values) * fraction // 1))  # ceil without floats drifting
    return sorted_values[int(rank) - 1]


def summarize(seconds: list[float]) -> dict[str, float]:
    values = sorted(seconds)
    count = len(values)
    total = sum(values)
    if count == 0:
        return {"count": 0, "total_s": 0.0, "mean_ms": 0.0, "median_ms": 0.0, "p95_ms": 0.0, "max_ms": 0.0}
    middle = count // 2
    median = values[middle] if count % 2 else (values[middle - 1] + values[middle]) / 2
    return {
        "count": count,
        "total_s": total,
        "mean_ms": total / count * 1000,
        "median_ms": median * 1000,
        "p95_ms": percentile(values, 0.95) * 1000,
        "max_ms": values[-1] * 1000,
    }


# --------------------------------------------------------------------------------------------------
# The run


def bench_settings(work: Path, dovecot: DovecotServer, sink: SmtpSink, processes: int | None = None) -> Settings:
    # Every section given in full (as intake/demo.py does), so INTAKE_* variables in the caller's
    # environment cannot point the benchmark at a real mailbox or change its limits.
    sections: dict[str, Any] = {
        "imap": ImapSettings(
            host=dovecot.host,
            port=dovecot.port,
            security="none",
            username=dovecot.username,
            password=SecretStr(dovecot.password),
            idle=False,
            timeout_seconds=30,
        ),
        "smtp": SmtpSettings(host=sink.host, port=sink.port, security="none", timeout_seconds=30),
        "database": DatabaseSettings(url=f"sqlite:///{(work / 'intake.db').as_posix()}"),
        "storage": StorageSettings(path=work / "storage"),
        "office": OfficeSettings(),
        "signing": SigningSettings(pkcs12_path=work / "signing.p12", pkcs12_password=SecretStr(KEY_PASSWORD)),
        "limits": LimitsSettings(),
        "replies": RepliesSettings(acknowledgement=True),
        "worker": WorkerSettings(
            isolate=os.environ.get("BENCH_ISOLATE", "1") != "0",
            **({} if processes is None else {"processes": processes}),
        ),
    }
    if "trust" in Settings.model_fields:
        from intake.settings import TrustSettings

        sections["trust"] = TrustSettings()  # no trusted lists: nothing is fetched from the network
    return Settings(**sections)


@dataclass
class Result:
    processes: int  # worker.processes of the run
    messages: int
    mix: str
    kinds: dict[str, int]
    generate_s: float
    append_s: float
    cycle_s: float
    own_cpu_s: float
    other_cpu_s: float | None
    replies_expected: int
    replies_received: int
    receipts_sent: int
    inbox_left: int
    imap_error: str | None
    states: dict[str, int]
    outbox: dict[str, int]
    stages: dict[str, dict[str, float]]
    probes: dict[str, dict[str, float]]
    machine: dict[str, Any]
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def run(count: int, mix: str, keep: bool, processes: int | None = None) -> Result:
    work = Path(tempfile.mkdtemp(prefix="intake-bench-"))
    base = make_dovecot_base("intake-bench-dovecot-")
    dovecot: DovecotServer | None = None
    sink: SmtpSink | None = None
    rt: Runtime | None = None
    try:
        generate_pkcs12(work / "signing.p12", KEY_PASSWORD, common_name="Registratura AJOFM Cluj (bench)")
        dovecot = start_dovecot(base)
        sink = start_smtp_sink()

        started = time.perf_counter()
        kinds = plan(count, mix)
        templates = make_templates()
        raws = [build_message(kind, index, templates) for index, kind in enumerate(kinds)]
        generate_s = time.perf_counter() - started

        # One IMAP session for all APPENDs: this is the mail server's delivery time, not intake's.
        started = time.perf_counter()
        client = dovecot.client(timeout=30)
        try:
            for raw in raws:
                client.append("INBOX", raw)
        finally:
            with contextlib.suppress(Exception):
                client.logout()
        append_s = time.perf_counter() - started
        appended = len(dovecot.uids("INBOX"))
        if appended != count:
            raise RuntimeError(f"appended {count} messages but INBOX holds {appended}")

        settings = bench_settings(work, dovecot, sink, processes)
        rt = Runtime.from_settings(settings)
        timers = Timers()
        with probes(timers):
            busy_before, own_before = busy_cpu_seconds(), own_cpu_seconds()
            started = time.perf_counter()
            report = scheduler.run_cycle(rt)
            cycle_s = time.perf_counter() - started
            busy_after, own_after = busy_cpu_seconds(), own_cpu_seconds()
        own_cpu_s = own_after - own_before
        # What the rest of the machine (Dovecot, and anyone else's jobs) burnt meanwhile: on a 2-core box a
        # busy neighbour slows the cycle down, so a result with a large figure here should be re-run.
        other_cpu_s = None if busy_before is None or busy_after is None else busy_after - busy_before - own_cpu_s

        problems: list[str] = []
        expected = sum(REPLIES_PER_KIND[kind] for kind in kinds)
        try:
            received = len(sink.wait_for(expected, timeout=SINK_WAIT_SECONDS))
        except TimeoutError as exc:
            received = len(sink.messages)
            problems.append(str(exc))
        if received != expected:
            problems.append(f"SMTP sink got {received} replies, expected {expected}")
        inbox_left = len(dovecot.uids("INBOX"))
        if inbox_left:
            problems.append(f"{inbox_left} message(s) still in INBOX after the cycle")
        if report.imap_error:
            problems.append(f"IMAP error during the cycle: {report.imap_error}")

        states, outbox_counts, receipts_sent, stage_times = _database_figures(rt)
        if states.get("quarantined"):
            problems.append(f"{states['quarantined']} submission(s) quarantined")
        return Result(
            processes=getattr(settings.worker, "processes", 1),
            messages=count,
            mix=mix,
            kinds=dict(Counter(kinds)),
            generate_s=generate_s,
            append_s=append_s,
            cycle_s=cycle_s,
            own_cpu_s=own_cpu_s,
            other_cpu_s=other_cpu_s,
            replies_expected=expected,
            replies_received=received,
            receipts_sent=receipts_sent,
            inbox_left=inbox_left,
            imap_error=report.imap_error,
            states=states,
            outbox=outbox_counts,
            stages={name: summarize(values) for name, values in stage_times.items()},
            probes={label: summarize(timers.calls[label]) for label in PROBE_ORDER if label in timers.calls},
            machine=machine(),
            problems=problems,
        )
    finally:
        if rt is not None:
            rt.engine.dispose()
        if sink is not None:
            sink.stop()
        if dovecot is not None:
            dovecot.stop()
        if keep:
            print(f"kept: {work} (database, store), {base} (Dovecot)", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
            shutil.rmtree(base, ignore_errors=True)


def _database_figures(rt: Runtime) -> tuple[dict[str, int], dict[str, int], int, dict[str, list[float]]]:
    with transaction(rt.engine) as session:
        states = {
            str(state): int(n)
            for state, n in session.exec(select(Submission.state, func.count()).group_by(Submission.state)).all()
        }
        outbox_rows = session.exec(
            select(OutboxMessage.kind, OutboxMessage.state, func.count()).group_by(
                OutboxMessage.kind, OutboxMessage.state
            )
        ).all()
        events = session.exec(select(Event.action, Event.detail).where(col(Event.action).startswith("stage:"))).all()
    outbox_counts = {f"{kind}:{state}": int(n) for kind, state, n in outbox_rows}
    receipts_sent = sum(int(n) for kind, state, n in outbox_rows if kind == "receipt" and str(state) == "sent")
    # Table order = pipeline order; a stage that never ran (e.g. all mail ignored) still shows up as 0.
    stage_times: dict[str, list[float]] = {stage.name: [] for stage in pipeline.STAGES}
    for action, detail in events:
        name = action.removeprefix("stage:")
        stage_times.setdefault(name, []).append(float((detail or {}).get("duration_ms", 0.0)) / 1000)
    return states, outbox_counts, receipts_sent, stage_times


def busy_cpu_seconds() -> float | None:
    """CPU time all processes on the machine have used since boot (Linux /proc/stat), or None."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    # user nice system idle iowait irq softirq steal ...: everything but idle and iowait is work.
    ticks = [int(x) for x in fields]
    return (sum(ticks) - ticks[3] - (ticks[4] if len(ticks) > 4 else 0)) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    # process_time covers every thread of ours (the SMTP sink's event loop included); the worker children's time
    # is counted once they are reaped, which the cycle does before it returns.
    children = os.times()
    return time.process_time() + children.children_user + children.children_system


def machine() -> dict[str, Any]:
    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    commit = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": cpu_model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        # On a shared 2-core box another job's CPU shows up directly in our figures: say how busy it was.
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else [],
        "intake": str(Path(intake.__file__).resolve().parent),
        "commit": commit,
    }


# --------------------------------------------------------------------------------------------------
# Output


def print_text(result: Result) -> None:
    m = result.machine
    print(f"intake pipeline benchmark — {m['date']}")
    print(f"machine: {m['cores']} cores ({m['cpu'] or 'unknown CPU'}), Python {m['python']}, {m['platform']}")
    print(f"code: {m['intake']}" + (f" (git HEAD {m['commit']})" if m["commit"] else ""))
    if m["load_average"]:
        print("load average at the end (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in m["load_average"]))
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(result.kinds.items()))
    print(f"messages: {result.messages} ({result.mix}: {kinds}), worker.processes = {result.processes}")
    print()
    print(f"generate messages  {result.generate_s:8.2f} s   (not intake)")
    print(f"APPEND to Dovecot  {result.append_s:8.2f} s   (not intake)")
    print(f"run_cycle          {result.cycle_s:8.2f} s   wall clock, one cycle")
    cpu = f"  CPU during the cycle: intake {result.own_cpu_s:.2f} s"
    if result.other_cpu_s is not None:
        cpu += f", rest of the machine (Dovecot, other jobs) {max(result.other_cpu_s, 0.0):.2f} s"
    print(cpu)
    print()
    print(f"end to end:  {result.messages / result.cycle_s:7.2f} messages/s")
    print(f"receipts:    {result.receipts_sent / result.cycle_s:7.2f} receipts/s ({result.receipts_sent} sent)")
    print(f"replies:     {result.replies_received} received by the sink, {result.replies_expected} expected")
    print(f"INBOX after: {result.inbox_left}   states: {_inline(result.states)}   outbox: {_inline(result.outbox)}")
    print()
    header = f"{'':<24}{'count':>7}{'total s':>10}{'mean ms':>10}{'median ms':>11}{'p95 ms':>10}{'max ms':>10}"
    print("per stage (Event rows; snapshot + prepare + record, commit not included)")
    print(header)
    stage_total = 0.0
    for name, stats in result.stages.items():
        print(_row(name, stats))
        stage_total += stats["total_s"]
    print(f"{'sum of stages':<24}{'':>7}{stage_total:>10.2f}")
    print()
    print("cycle parts (timers around core functions; indented rows are inside the row above)")
    print(header)
    for label, stats in result.probes.items():
        print(_row(label, stats))
    passes = result.probes.get("pipeline passes", {}).get("total_s", 0.0)
    if passes:
        print(f"{'  passes − stages':<24}{'':>7}{passes - stage_total:>10.2f}   (transactions, commits, look-ups)")
    # The top-level probes do not overlap, and nor do the send_due calls with the passes (the cycle calls
    # them one after the other), so what is left is login, SELECT, folder checks and the final record.
    top = sum(stats["total_s"] for label, stats in result.probes.items() if not label.startswith(" "))
    print(f"{'other (login, folders)':<24}{'':>7}{result.cycle_s - top:>10.2f}")
    if result.problems:
        print()
        for problem in result.problems:
            print(f"PROBLEM: {problem}")


def _row(name: str, stats: dict[str, float]) -> str:
    return (
        f"{name:<24}{int(stats['count']):>7}{stats['total_s']:>10.2f}{stats['mean_ms']:>10.1f}"
        f"{stats['median_ms']:>11.1f}{stats['p95_ms']:>10.1f}{stats['max_ms']:>10.1f}"
    )


def _inline(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {value}" for key, value in sorted(counts.items())) or "-"


def as_json(result: Result) -> dict[str, Any]:
    return {
        "processes": result.processes,
        "messages": result.messages,
        "mix": result.mix,
        "kinds": result.kinds,
        "generate_s": result.generate_s,
        "append_s": result.append_s,
        "cycle_s": result.cycle_s,
        "cycle_cpu_s": {"intake": result.own_cpu_s, "rest_of_machine": result.other_cpu_s},
        "messages_per_s": result.messages / result.cycle_s,
        "receipts_per_s": result.receipts_sent / result.cycle_s,
        "receipts_sent": result.receipts_sent,
        "replies_expected": result.replies_expected,
        "replies_received": result.replies_received,
        "inbox_left": result.inbox_left,
        "imap_error": result.imap_error,
        "states": result.states,
        "outbox": result.outbox,
        "stages": result.stages,
        "cycle_parts": {label.strip(): stats for label, stats in result.probes.items()},
        "machine": result.machine,
        "ok": result.ok,
        "problems": result.problems,
    }


# --------------------------------------------------------------------------------------------------


class TimedOut(Exception):
    pass


@dataclass
class Watchdog:
    """A deadline for the whole run: run_cycle has none of its own (IMAP and SMTP have socket timeouts,
    CPU work has none).

    At the deadline the main thread gets a KeyboardInterrupt, so run()'s `finally` stops the servers and
    removes the temp dirs. Should it be stuck in C code that never returns to Python, we exit hard after
    a grace period: Dovecot then dies with us (PDEATHSIG) and the sink is only a thread of ours.
    """

    seconds: float
    grace: float = 30.0
    fired: bool = False
    _timers: list[threading.Timer] = field(default_factory=list)

    def __enter__(self) -> Watchdog:
        for delay, action in ((self.seconds, self._interrupt), (self.seconds + self.grace, self._exit)):
            timer = threading.Timer(delay, action)
            timer.daemon = True
            timer.start()
            self._timers.append(timer)
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> bool:
        for timer in self._timers:
            timer.cancel()
        if self.fired and exc_type is KeyboardInterrupt:
            raise TimedOut(f"no result after {self.seconds:.0f} s") from None
        return False

    def _interrupt(self) -> None:
        self.fired = True
        _thread.interrupt_main()

    def _exit(self) -> None:
        print(f"bench: stuck {self.grace:.0f} s after the deadline; exiting (temp dirs may remain)", file=sys.stderr)
        os._exit(3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", "-n", type=int, default=200, help="how many messages (default 200)")
    parser.add_argument("--mix", choices=("good", "mixed"), default="mixed", help="message mix (default mixed)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the tables")
    parser.add_argument("--timeout", type=float, default=600.0, help="give up after this many seconds")
    parser.add_argument("--keep", action="store_true", help="keep the database, store and mail dirs")
    parser.add_argument(
        "--processes",
        type=int,
        default=None,
        help="run the same material twice, with 1 and with N worker processes, and compare (default: one run "
        "with worker.processes at its default, the number of cores)",
    )
    args = parser.parse_args(argv)
    if args.messages < 1:
        parser.error("--messages must be at least 1")
    if args.processes is not None and args.processes < 1:
        parser.error("--processes must be at least 1")
    # The pipeline logs a warning per finding-worthy problem; show only errors, the tables say the rest.
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    # The same material each time: plan() and build_message() are deterministic for a given N and mix.
    counts: list[int | None] = [None] if args.processes is None else [1, args.processes]
    results: list[Result] = []
    try:
        with Watchdog(args.timeout):
            for processes in counts:
                results.append(run(args.messages, args.mix, args.keep, processes))
    except TimedOut as exc:
        print(f"bench: gave up: {exc} (--timeout)", file=sys.stderr)
        return 3
    if args.json:
        if len(results) == 1:
            print(json.dumps(as_json(results[0]), indent=2, sort_keys=True))
        else:
            comparison = {"runs": [as_json(result) for result in results], "speedup": _speedup(results)}
            print(json.dumps(comparison, indent=2, sort_keys=True))
    else:
        for index, result in enumerate(results):
            if index:
                print()
            print_text(result)
        if len(results) > 1:
            print()
            print("worker processes   messages/s   cycle s   intake CPU s")
            for result in results:
                rate = result.messages / result.cycle_s
                print(f"{result.processes:>16}   {rate:>10.2f}   {result.cycle_s:>7.2f}   {result.own_cpu_s:>12.2f}")
            print(f"speedup {results[-1].processes} vs 1 process: {_speedup(results):.2f}x")
    return 0 if all(result.ok for result in results) else 1


def _speedup(results: list[Result]) -> float:
    return results[0].cycle_s / results[-1].cycle_s


if __name__ == "__main__":
    sys.exit(main())
