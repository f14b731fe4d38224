"""Issue 11 section 5: one `intake poll --once` over realistic submissions, against the naive library cost.

    .venv/bin/python bench/throughput.py [--messages 200] [--naive-sample 8] [--idle-rate 1.5] [--backlog 10000]

Material per submission (all generated per run, byte-unique per message): an application and a declaration, each
signed PAdES B-LT (signature time-stamp, OCSP answers and certificates in the DSS) by a person of their own (a fresh
qualified certificate per applicant from the test PKI of `tests/pki/`, whose OCSP/CRL/TSA answer on 127.0.0.1); a
0.7–1.5 MB ID-card JPEG; a 2-page scanned diploma PDF (0.25 MB). About 1.1–1.6 MB of attachments a message.

The daemon is the real command (`python -m intake.cli poll --once` / `run`) in a subprocess with the [trust] of the
test PKI and revocation "require", so its process group (daemon + worker children, not Dovecot, not this script) is
what the RSS sampler sums. Prints: per-stage figures from the Event rows, the naive cost of the libraries called one
after another on one core (measured in this run on a sample, times N) and the ratio wall/naive, messages/s, peak RSS
of the process group, CPU of the rest of the machine and the load average.

`--idle-rate S`: `intake run` (IMAP IDLE) fed one submission every S seconds; p95 from APPEND to the recipisă at the
SMTP sink. `--backlog N`: N small messages plus one 25 MB message waiting in INBOX; peak RSS of `intake run` while it
works through them for `--backlog-seconds`. Both are bounded loops with deadlines.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import logging
import multiprocessing
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if sys.path and Path(sys.path[0] or ".").resolve() == REPO / "bench":
    sys.path.pop(0)
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.pipeline import _unique_jpeg, busy_cpu_seconds, machine, percentile, summarize  # noqa: E402
from intake.receipts.keys import generate_pkcs12  # noqa: E402
from tests import mailfactory  # noqa: E402
from tests.integration.harness import Intake, intake_for  # noqa: E402
from tests.pki.build import TestPki, build_test_pki  # noqa: E402
from tests.pki.documents import Applicant, application_pdf, declaration_pdf, make_cnp  # noqa: E402
from tests.servers.dovecot import DovecotServer, make_dovecot_base, start_dovecot  # noqa: E402
from tests.servers.smtp_sink import SmtpSink, start_smtp_sink  # noqa: E402

log = logging.getLogger("bench.throughput")

KEY_PASSWORD = "bench"
PDF_TOKEN = b"bench-0000000000"
GIVEN = ["Ioana", "Maria", "Elena", "Ana", "Andreea", "Mihaela", "Cristina", "Raluca", "Simona", "Diana"]
SURNAMES = ["Pop", "Moldovan", "Rus", "Mureșan", "Câmpean", "Bălan", "Sabău", "Oltean", "Crișan", "Tătar"]
JPEG_SIZES = ((1700, 1100), (2100, 1370), (2450, 1590))  # 0.72, 1.09, 1.47 MB at quality 90 with scan grain


# ------------------------------------------------------------------------------------------------- material


def _card_jpeg(width: int, height: int) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), (225, 230, 240))
    draw = ImageDraw.Draw(image)
    for y in range(60, height - 60, 48):
        draw.text((80, y), "ROMANIA CARTE DE IDENTITATE / IDENTITY CARD  SERIA CJ NR 000000", fill=(20, 20, 40))
    draw.rectangle((width - 700, 150, width - 150, 800), outline=(0, 0, 0), width=6, fill=(180, 160, 150))
    noise = Image.effect_noise((width, height), 40).convert("RGB")  # a scan's grain: what keeps JPEGs large
    out = io.BytesIO()
    Image.blend(image, noise, 0.25).save(out, "JPEG", quality=90, dpi=(300, 300))
    return out.getvalue()


def _diploma_pdf() -> bytes:
    """Two scanned pages (A4, 150 dpi grey JPEG each) with the placeholder title varied per message."""
    from fpdf import FPDF
    from PIL import Image, ImageDraw

    pdf = FPDF()
    pdf.set_title(PDF_TOKEN.decode("ascii"))
    for page in range(2):
        scan = Image.new("L", (1240, 1754), 235)
        draw = ImageDraw.Draw(scan)
        for y in range(150, 1600, 40):
            draw.text((120, y), f"DIPLOMA DE LICENTA  pagina {page + 1}  Universitatea Babes-Bolyai Cluj", fill=30)
        grain = Image.effect_noise((1240, 1754), 12)
        buffer = io.BytesIO()
        Image.blend(scan, grain, 0.15).save(buffer, "JPEG", quality=80)
        pdf.add_page()
        pdf.image(io.BytesIO(buffer.getvalue()), x=0, y=0, w=210, h=297)
    data = bytes(pdf.output())
    if data.count(PDF_TOKEN) != 1:
        raise RuntimeError("fpdf2 no longer writes the title as a plain string: adapt PDF_TOKEN")
    return data


def applicant(index: int) -> Applicant:
    given, surname = GIVEN[index % len(GIVEN)], SURNAMES[(index // len(GIVEN)) % len(SURNAMES)]
    born = date(1970 + index % 30, 1 + index % 12, 1 + index % 28)
    cnp = make_cnp(2, born, 12, index % 1000)
    return Applicant(given, surname, cnp, f"Cluj-Napoca, str. Horea nr. {1 + index % 90}, jud. Cluj")


def issue_signers(pki: TestPki, count: int) -> list[Any]:
    """One qualified certificate per applicant, registered with the CA so that its OCSP/CRL answer for it.

    Issued in this process: the responders run here, the signing happens in a forked child."""
    from tests.pki.build import POLICY_QCP_N_QSCD, QES_PROFILE
    from tests.pki.certs import issue, person_name

    _, qca = pki._keys["qes"]
    now = datetime.now(UTC)
    people = []
    for index in range(count):
        who = applicant(index)
        issued = issue(
            qca,
            f"bench-{index}",
            person_name(who.given_name, who.surname, who.cnp),
            now - timedelta(days=90),
            now + timedelta(days=365),
            qc=QES_PROFILE,
            policy=POLICY_QCP_N_QSCD,
        )
        people.append(issued)
    return people


async def _sign_all(pki: TestPki, people: list[Any], first: int, count: int) -> list[tuple[bytes, bytes]]:
    import aiohttp
    from pyhanko.sign.timestamps import HTTPTimeStamper
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

    from tests.pki.signing import sign_pdf, simple_signer

    _, qca = pki._keys["qes"]
    out = []
    async with aiohttp.ClientSession() as session:
        tsa = HTTPTimeStamper(pki.tsa_url, timeout=10, session=session)
        for index in range(first, first + count):
            who, signer = applicant(index), simple_signer(people[index], qca)
            pair = []
            for unsigned in (application_pdf(who), declaration_pdf(who)):
                # A fresh context per document: the DSS of each holds its own signer's revocation data (B-LT).
                context = ValidationContext(
                    trust_roots=[qca.asn1], allow_fetching=True, fetcher_backend=AIOHttpFetcherBackend(session)
                )
                pair.append(await sign_pdf(unsigned, signer, timestamper=tsa, validation_context=context))
            out.append((pair[0], pair[1]))
    return out


def build_raw(index: int, signed: tuple[bytes, bytes], jpegs: list[bytes], diploma: bytes) -> bytes:
    who = applicant(index)
    attachments = [
        ("cerere indemnizație șomaj.pdf", signed[0], "application/pdf"),
        ("declarație pe propria răspundere.pdf", signed[1], "application/pdf"),
        ("buletin.jpg", _unique_jpeg(jpegs[index % len(jpegs)], index), "image/jpeg"),
        ("diplomă.pdf", diploma.replace(PDF_TOKEN, f"bench-{index:010d}".encode("ascii")), "application/pdf"),
    ]
    message = mailfactory.submission(
        sender=f"solicitant{index:05d}@example.ro",
        sender_name=who.full_name,
        subject=f"Cerere indemnizație șomaj {index}",
        attachments=attachments,
    )
    return message.as_bytes()


def _material_child(pki: TestPki, people: list[Any], first: int, count: int, out_dir: str) -> None:
    """Forked: sign and write the raw messages to files, so the parent never holds N × 1.5 MB in its heap."""
    logging.disable(logging.WARNING)
    jpegs = [_card_jpeg(w, h) for w, h in JPEG_SIZES]
    diploma = _diploma_pdf()
    signed = asyncio.run(_sign_all(pki, people, first, count))
    for offset, pair in enumerate(signed):
        index = first + offset
        Path(out_dir, f"{index:06d}.eml").write_bytes(build_raw(index, pair, jpegs, diploma))


def make_material(pki: TestPki, count: int, out_dir: Path, first: int = 0) -> list[Path]:
    """The raw messages `first..first+count-1` as files, signed in two forked children (both cores)."""
    people = issue_signers(pki, first + count)
    context = multiprocessing.get_context("fork")
    halves = [(first, count // 2), (first + count // 2, count - count // 2)]
    children = [
        context.Process(target=_material_child, args=(pki, people, start, n, str(out_dir))) for start, n in halves if n
    ]
    for child in children:
        child.start()
    for child in children:
        child.join()
        if child.exitcode != 0:
            raise RuntimeError(f"material child exited {child.exitcode}")
    return [out_dir / f"{index:06d}.eml" for index in range(first, first + count)]


def append_files(dovecot: DovecotServer, paths: list[Path]) -> float:
    started = time.perf_counter()
    client = dovecot.client(timeout=60)
    try:
        for path in paths:
            client.append("INBOX", path.read_bytes())
    finally:
        with contextlib.suppress(Exception):
            client.logout()
    return time.perf_counter() - started


# ------------------------------------------------------------------------------------------------- naive cost


@dataclass
class Naive:
    parts: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in NAIVE_PARTS})

    def per_message_s(self) -> float:
        return sum(statistics.mean(v) for v in self.parts.values() if v)


NAIVE_PARTS = ("fetch (IMAP)", "pyHanko validation ×2", "full image/PDF decode", "render + sign receipt")


def measure_naive(pki: TestPki, dovecot: DovecotServer, work: Path, sample: int) -> Naive:
    """The libraries called one after another, each the plain way, on one core: what the pipeline must beat.

    The first message is a warm-up (imports, font files) and is not counted."""
    from email import message_from_bytes, policy

    uids = dovecot.uids("INBOX")[: sample + 1]
    naive = Naive()
    client = dovecot.client(timeout=60)
    try:
        client.select_folder("INBOX", readonly=True)
        for position, uid in enumerate(uids):
            timings: dict[str, float] = {}
            started = time.perf_counter()
            raw = client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]
            timings["fetch (IMAP)"] = time.perf_counter() - started
            message = message_from_bytes(raw, policy=policy.default)
            files = {part.get_filename(): part.get_content() for part in message.iter_attachments()}
            pdfs = [data for name, data in files.items() if name and name.startswith(("cerere", "declarație"))]
            started = time.perf_counter()
            for data in pdfs:
                _naive_validate(pki, data)
            timings["pyHanko validation ×2"] = time.perf_counter() - started
            started = time.perf_counter()
            _naive_decode([data for name, data in files.items() if name and name.endswith((".jpg", ".pdf"))])
            timings["full image/PDF decode"] = time.perf_counter() - started
            started = time.perf_counter()
            _naive_receipt(work)
            timings["render + sign receipt"] = time.perf_counter() - started
            if position:
                for key, value in timings.items():
                    naive.parts[key].append(value)
    finally:
        with contextlib.suppress(Exception):
            client.logout()
    return naive


def _naive_validate(pki: TestPki, data: bytes) -> None:
    asyncio.run(_naive_validate_async(pki, data))


async def _naive_validate_async(pki: TestPki, data: bytes) -> None:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import async_validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

    _, qca = pki._keys["qes"]
    reader = PdfFileReader(io.BytesIO(data))
    for embedded in reader.embedded_signatures:
        backend = AIOHttpFetcherBackend()
        try:
            contexts = [
                ValidationContext(
                    trust_roots=[qca.asn1], allow_fetching=True, revocation_mode="require", fetcher_backend=backend
                )
                for _ in range(2)
            ]
            status = await async_validate_pdf_signature(
                embedded, signer_validation_context=contexts[0], ts_validation_context=contexts[1]
            )
        finally:
            await backend.close()
        if not status.bottom_line:
            raise RuntimeError(f"naive validation failed: {status.summary()}")


def _naive_decode(files: list[bytes]) -> None:
    from PIL import Image
    from pypdf import PdfReader

    for data in files:
        if data[:4] == b"%PDF":
            reader = PdfReader(io.BytesIO(data))
            for page in reader.pages:
                page.extract_text()
                for image in page.images:
                    image.image.load()
        else:
            with Image.open(io.BytesIO(data)) as image:
                image.load()


def _naive_receipt(work: Path) -> None:
    from fpdf import FPDF
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    pdf = FPDF()
    fonts = REPO / "intake" / "receipts" / "fonts"
    pdf.add_font("DejaVu", fname=str(fonts / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", style="B", fname=str(fonts / "DejaVuSans-Bold.ttf"))
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 14)
    pdf.cell(0, 10, "RECIPISĂ de înregistrare", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=10)
    for line in range(25):
        pdf.multi_cell(
            0,
            6,
            new_x="LMARGIN",
            new_y="NEXT",
            text=f"Rândul {line}: cererea dumneavoastră a fost înregistrată; documente ș ț ă î â.",
        )
    signer = signers.SimpleSigner.load_pkcs12(str(work / "signing.p12"), passphrase=KEY_PASSWORD.encode())
    assert signer is not None
    writer = IncrementalPdfFileWriter(io.BytesIO(bytes(pdf.output())))
    signers.sign_pdf(writer, signers.PdfSignatureMetadata(field_name="Recipisa"), signer=signer)


# ------------------------------------------------------------------------------------------------- the daemon


class RssSampler:
    """Peak of the summed resident set of a process and all its descendants, sampled every `interval` s; and the
    peak of their summed proportional set (PSS). RSS counts a page shared by the daemon and its forked children
    once per process, so the RSS sum overstates what the group holds; the PSS sum is the group's real footprint."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid, self.interval = pid, interval
        self.peak_kb = 0
        self.peak_processes = 0
        self.peak_pss_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = _tree(self.pid)
            total = sum(_rss_kb(pid) for pid in pids)
            if total > self.peak_kb:
                self.peak_kb, self.peak_processes = total, len(pids)
            self.peak_pss_kb = max(self.peak_pss_kb, sum(_pss_kb(pid) for pid in pids))
            self._stop.wait(self.interval)


def _tree(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                parents[int(entry)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        found.extend(frontier)
    return found


def _rss_kb(pid: int) -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _pss_kb(pid: int) -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


@dataclass
class Servers:
    work: Path
    pki: TestPki
    dovecot: DovecotServer
    sink: SmtpSink
    intake: Intake


@contextlib.contextmanager
def servers(keep: bool) -> Iterator[Servers]:
    work = Path(tempfile.mkdtemp(prefix="intake-throughput-"))
    base = make_dovecot_base("intake-throughput-dovecot-")
    pki = dovecot = sink = None
    try:
        pki = build_test_pki(work / "pki")
        generate_pkcs12(work / "signing.p12", KEY_PASSWORD, common_name="Registratura AJOFM Cluj (bench)")
        dovecot = start_dovecot(base)
        sink = start_smtp_sink()
        trust = f"""
[trust]
lists = [{{source = "{pki.trusted_list}", signer = "{pki.tl_operator_cert}"}}]
revocation = "require"
"""
        intake = intake_for(
            work / "intake",
            dovecot=dovecot,
            smtp_sink=sink,
            pkcs12=work / "signing.p12",
            password=KEY_PASSWORD,
            extra_config=trust,
        )
        yield Servers(work, pki, dovecot, sink, intake)
    finally:
        for server in (sink, dovecot, pki):
            if server is not None:
                with contextlib.suppress(Exception):
                    server.stop()
        if keep:
            print(f"kept: {work}, {base}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
            shutil.rmtree(base, ignore_errors=True)


PROFILE: Path | None = None  # --profile: the daemon under cProfile, one process, stages in-process


def start_daemon(intake: Intake, *args: str) -> subprocess.Popen[bytes]:
    command, extra = intake.command(*args), {}
    if PROFILE is not None:
        command = [sys.executable, "-m", "cProfile", "-o", str(PROFILE), "-m", "intake.cli", *args]
        extra = {"INTAKE_WORKER__PROCESSES": "1", "INTAKE_WORKER__ISOLATE": "false"}
    return subprocess.Popen(
        command,
        cwd=intake.workdir,
        env=intake.environment(**extra),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=open(intake.workdir / f"{args[0]}.stderr", "ab"),
    )


def stop_daemon(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def stage_figures(intake: Intake) -> dict[str, dict[str, float]]:
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{intake.workdir / 'intake.db'}")
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT action, detail FROM event WHERE action LIKE 'stage:%'")).fetchall()
    finally:
        engine.dispose()
    times: dict[str, list[float]] = {}
    for action, detail in rows:
        duration = (json.loads(detail) if isinstance(detail, str) else detail or {}).get("duration_ms", 0.0)
        times.setdefault(action.removeprefix("stage:"), []).append(float(duration) / 1000)
    return {name: summarize(values) for name, values in times.items()}


# ------------------------------------------------------------------------------------------------- the runs


def run_cycle(args: argparse.Namespace) -> dict[str, Any]:
    with servers(args.keep) as s:
        started = time.perf_counter()
        paths = make_material(s.pki, args.messages, s.work)
        generate_s = time.perf_counter() - started
        sizes = [path.stat().st_size for path in paths]
        append_s = append_files(s.dovecot, paths)
        naive = measure_naive(s.pki, s.dovecot, s.work, min(args.naive_sample, args.messages - 1))

        load_before = os.getloadavg()
        busy_before = busy_cpu_seconds()
        reaped_before = os.times()  # the material children are reaped already: not the daemon's CPU
        started = time.perf_counter()
        process = start_daemon(s.intake, "poll", "--once")
        with RssSampler(process.pid) as sampler:
            code = process.wait(timeout=args.timeout)
        wall_s = time.perf_counter() - started
        busy_after = busy_cpu_seconds()
        reaped = os.times()
        daemon_cpu_s = (reaped.children_user - reaped_before.children_user) + (
            reaped.children_system - reaped_before.children_system
        )
        load_after = os.getloadavg()

        problems = []
        if code != 0:
            problems.append(f"poll --once exited {code}: see {s.intake.workdir / 'poll.stderr'}")
        try:
            s.sink.wait_for(2 * args.messages, timeout=60)
        except TimeoutError as exc:
            problems.append(str(exc))
        left = len(s.dovecot.uids("INBOX"))
        if left:
            problems.append(f"{left} message(s) left in INBOX")
        labels = _labels(s.intake)
        naive_total = naive.per_message_s() * args.messages
        return {
            "machine": machine(),
            "messages": args.messages,
            "message_mb": {"min": min(sizes) / 1e6, "mean": statistics.mean(sizes) / 1e6, "max": max(sizes) / 1e6},
            "generate_s": generate_s,
            "append_s": append_s,
            "wall_s": wall_s,
            "messages_per_s": args.messages / wall_s,
            "naive_per_message_ms": {k: statistics.mean(v) * 1000 for k, v in naive.parts.items() if v},
            "naive_sample": len(next(iter(naive.parts.values()))),
            "naive_total_s": naive_total,
            "ratio_wall_to_naive": wall_s / naive_total,
            "peak_rss_mb": sampler.peak_kb / 1024,
            "peak_pss_mb": sampler.peak_pss_kb / 1024,
            "peak_rss_processes": sampler.peak_processes,
            "daemon_cpu_s": daemon_cpu_s,
            "rest_of_machine_cpu_s": None
            if busy_before is None or busy_after is None
            else busy_after - busy_before - daemon_cpu_s,
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_after],
            "stages": stage_figures(s.intake),
            "signature_labels": labels,
            "receipts": len([m for m in s.sink.messages if _is_receipt(m)]),
            "problems": problems,
        }


def _submissions(intake: Intake) -> int:
    import sqlite3

    connection = sqlite3.connect(f"file:{intake.workdir / 'intake.db'}?mode=ro", uri=True)
    try:
        return int(connection.execute("SELECT count(*) FROM submission").fetchone()[0])
    finally:
        connection.close()


def _labels(intake: Intake) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for submission in intake.json("submissions"):
        for document in submission.get("documents", []):
            if document.get("signature"):
                counts[document["signature"]["label"]] += 1
    return dict(counts)


def _is_receipt(mail: Any) -> bool:
    return any(part.get_content_type() == "application/pdf" for part in mail.message().iter_attachments())


def run_idle(args: argparse.Namespace) -> dict[str, Any]:
    """`intake run` on IDLE; one submission every `--idle-rate` s; APPEND → recipisă at the sink."""
    count = args.idle_messages
    with servers(args.keep) as s:
        paths = make_material(s.pki, count, s.work)
        process = start_daemon(s.intake, "run")
        appended: dict[str, float] = {}
        latencies: list[float] = []
        try:
            with RssSampler(process.pid) as sampler:
                _wait_until(lambda: _idle_ready(s.intake), 120)
                client = s.dovecot.client(timeout=60)
                try:
                    next_at = time.time()
                    for index, path in enumerate(paths):
                        time.sleep(max(0.0, next_at - time.time()))
                        appended[f"solicitant{index:05d}@example.ro"] = time.time()
                        client.append("INBOX", path.read_bytes())
                        next_at += args.idle_rate
                finally:
                    with contextlib.suppress(Exception):
                        client.logout()
                deadline = time.time() + 120
                while time.time() < deadline and len(_receipt_times(s.sink)) < count:
                    time.sleep(0.2)
        finally:
            stop_daemon(process)
        for sender, received in _receipt_times(s.sink).items():
            if sender in appended:
                latencies.append(received - appended[sender])
        latencies.sort()
        return {
            "machine": machine(),
            "idle_rate_s": args.idle_rate,
            "messages": count,
            "receipts": len(latencies),
            "p50_s": percentile(latencies, 0.5),
            "p95_s": percentile(latencies, 0.95),
            "max_s": latencies[-1] if latencies else 0.0,
            "peak_rss_mb": sampler.peak_kb / 1024,
            "peak_pss_mb": sampler.peak_pss_kb / 1024,
        }


def _idle_ready(intake: Intake) -> bool:
    # The daemon is up once it wrote its first poll cycle; before that, an APPEND measures its start-up.
    return (intake.workdir / "intake.db").exists()


def _wait_until(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("daemon not ready")
        time.sleep(0.2)
    time.sleep(3)  # IDLE is entered after the first (empty) cycle


def _receipt_times(sink: SmtpSink) -> dict[str, float]:
    return {
        str(mail.message()["To"]).strip("<>"): mail.received_at for mail in list(sink.messages) if _is_receipt(mail)
    }


def run_backlog(args: argparse.Namespace) -> dict[str, Any]:
    """N small messages and one of 25 MB waiting; peak RSS of `intake run` over `--backlog-seconds`."""
    with servers(args.keep) as s:
        client = s.dovecot.client(timeout=120)
        started = time.perf_counter()
        try:
            big = bytes(os.urandom(25 * 1024 * 1024 // 4 * 3))  # 25 MB once base64-encoded
            message = mailfactory.submission(
                sender="mare@example.ro", attachments=[("scan.pdf", b"%PDF-1.4\n" + big, "application/pdf")]
            )
            client.append("INBOX", message.as_bytes())
            del big, message
            batch = []
            for index in range(args.backlog):
                small = mailfactory.submission(
                    sender=f"mic{index:05d}@example.ro", subject=f"Întrebare {index}", attachments=[]
                )
                batch.append(small.as_bytes())
                if len(batch) == 500:
                    client.multiappend("INBOX", batch)
                    batch = []
            if batch:
                client.multiappend("INBOX", batch)
        finally:
            with contextlib.suppress(Exception):
                client.logout()
        append_s = time.perf_counter() - started
        waiting = len(s.dovecot.uids("INBOX"))
        process = start_daemon(s.intake, "run")
        try:
            with RssSampler(process.pid, interval=0.1) as sampler:
                time.sleep(args.backlog_seconds)
        finally:
            stop_daemon(process)
        left = len(s.dovecot.uids("INBOX"))
        return {
            "machine": machine(),
            "claimed_by_intake": _submissions(s.intake),
            "waiting": waiting,
            "append_s": append_s,
            "seconds": args.backlog_seconds,
            "taken_from_inbox": waiting - left,
            "peak_rss_mb": sampler.peak_kb / 1024,
            "peak_pss_mb": sampler.peak_pss_kb / 1024,
            "peak_rss_processes": sampler.peak_processes,
        }


# ------------------------------------------------------------------------------------------------- output


def print_cycle(r: dict[str, Any]) -> None:
    m = r["machine"]
    print(f"intake throughput (issue 11 §5) — {m['date']}, {m['cores']} cores ({m['cpu']}), Python {m['python']}")
    print(f"code: {m['intake']} (git HEAD {m['commit']})")
    print(f"load average before: {r['load_average_before']}, after: {r['load_average_after']}")
    mb = r["message_mb"]
    print(f"messages: {r['messages']} ({mb['min']:.2f}–{mb['max']:.2f} MB, mean {mb['mean']:.2f} MB)")
    print(f"generate {r['generate_s']:.1f} s, APPEND {r['append_s']:.1f} s (not intake)")
    print()
    print(f"poll --once wall      {r['wall_s']:8.2f} s   {r['messages_per_s']:.2f} messages/s")
    print(f"daemon CPU            {r['daemon_cpu_s']:8.2f} s   rest of machine {r['rest_of_machine_cpu_s'] or 0:.2f} s")
    print(f"peak RSS              {r['peak_rss_mb']:8.1f} MB  ({r['peak_rss_processes']} processes at the peak)")
    print(f"peak PSS              {r['peak_pss_mb']:8.1f} MB  (shared pages counted once: the group's footprint)")
    print(f"receipts at the sink  {r['receipts']:8d}     signature labels {r['signature_labels']}")
    print()
    print(f"naive library cost on one core (mean of {r['naive_sample']} messages, ms per message):")
    for part, ms in r["naive_per_message_ms"].items():
        print(f"  {part:<26}{ms:9.1f}")
    per = sum(r["naive_per_message_ms"].values())
    print(f"  {'total':<26}{per:9.1f}   × {r['messages']} = {r['naive_total_s']:.1f} s")
    print(f"ratio wall / naive    {r['ratio_wall_to_naive']:8.3f}   (target ≤ 0.35)")
    print()
    print(f"{'stage':<12}{'count':>7}{'mean ms':>10}{'p95 ms':>10}{'total s':>10}")
    for name, stats in r["stages"].items():
        print(
            f"{name:<12}{stats['count']:>7}{stats['mean_ms']:>10.1f}{stats['p95_ms']:>10.1f}{stats['total_s']:>10.2f}"
        )
    for problem in r["problems"]:
        print(f"PROBLEM: {problem}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", "-n", type=int, default=200)
    parser.add_argument("--naive-sample", type=int, default=8, help="messages the naive cost is measured on")
    parser.add_argument("--idle-rate", type=float, default=None, help="seconds between messages under IDLE")
    parser.add_argument("--idle-messages", type=int, default=40)
    parser.add_argument("--backlog", type=int, default=None, help="small messages waiting in INBOX (+ one 25 MB)")
    parser.add_argument("--backlog-seconds", type=float, default=60.0)
    parser.add_argument("--timeout", type=float, default=900.0, help="deadline for poll --once")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--profile", type=Path, default=None, help="cProfile output of the daemon (1 process)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    if args.messages < 2:
        parser.error("--messages must be at least 2")
    logging.basicConfig(level=logging.ERROR)
    global PROFILE
    PROFILE = args.profile.resolve() if args.profile else None
    for noisy in ("pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    if args.idle_rate is not None:
        result = run_idle(args)
    elif args.backlog is not None:
        result = run_backlog(args)
    else:
        result = run_cycle(args)
    if args.json or args.idle_rate is not None or args.backlog is not None:
        print(json.dumps(result, indent=2, sort_keys=True, default=str))
    else:
        print_cycle(result)
    return 1 if result.get("problems") else 0


if __name__ == "__main__":
    sys.exit(main())
