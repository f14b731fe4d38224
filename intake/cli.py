"""The `intake` command. Exit codes: 0 done; 2 bad configuration or usage; 1 anything else."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from intake.clock import Clock, parse_instant
from intake.logs import apply_settings, configure_logging
from intake.settings import ConfigError, Settings, load_settings

log = logging.getLogger("intake")

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="intake", description="E-mail intake daemon of AJOFM Cluj.")
    parser.add_argument("--config", help="configuration file (default: config/intake.toml or $INTAKE_CONFIG)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--init", action="store_true", help=INIT_HELP)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    commands.add_parser("run", help="the daemon: polling, IDLE, workers, outbox (and the web interface if enabled)")
    commands.add_parser("serve", help="the web interface alone")
    poll = commands.add_parser("poll", help="one full cycle, then exit")
    poll.add_argument("--once", action="store_true", required=True, help="run one cycle (the only mode)")
    poll.add_argument("--now", help="ISO-8601 instant used as 'now' for registration, deadlines and booking")
    demo = commands.add_parser("demo", help="the whole flow on embedded servers, no external server needed")
    demo.add_argument("--output", default="demo-output", help="where the demo keeps its files")
    demo.add_argument("--serve", action="store_true", help="then keep the staff interface running on the demo data")
    demo.add_argument("--port", type=int, default=8080, help="the web interface's port (a free one if taken)")
    for name, help_text in (("submissions", "all submissions, newest first"), ("status", "queues and health")):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--json", action="store_true")
        sub.add_argument("--office", help="one office's code (default: every office)")
    user = commands.add_parser("user", help="staff accounts of the web interface")
    user_commands = user.add_subparsers(dest="user_command", required=True, parser_class=_Parser)
    user_add = user_commands.add_parser("add", help="create a staff account (password read from standard input)")
    user_add.add_argument("name")
    user_add.add_argument("--role", required=True, choices=("registry", "ops", "admin"))
    user_add.add_argument("--office", help="the office code the account sees (required with several offices)")
    user_password = user_commands.add_parser(
        "password", help="set a staff account's password (read from standard input); its sessions end"
    )
    user_password.add_argument("name")
    verify = commands.add_parser("verify", help="verify the signatures of PDF / .p7s / .p7m files")
    verify.add_argument("files", nargs="+", help="files to verify (a .p7s signs the file of the same name)")
    verify.add_argument("--json", action="store_true")
    verify.add_argument(
        "--at", help="validate as of this ISO-8601 instant (trusted-list history, certificate validity, list signature)"
    )
    confirm = commands.add_parser(
        "confirm", help="a clerk confirms a complete case (procedure 000 step 8): book its visit, invite the citizen"
    )
    confirm.add_argument("number", help="the case's registration number: 123, 123/2026 or 123/22.11.2026")
    confirm.add_argument("--by", required=True, help="the clerk's staff account (role registry or admin), audited")
    confirm.add_argument("--now", help="ISO-8601 instant used as 'now' for booking (tests and replays)")
    db = commands.add_parser("db", help="the database schema (Alembic migrations)")
    db_commands = db.add_subparsers(dest="db_command", required=True, parser_class=_Parser)
    db_commands.add_parser("upgrade", help="bring the schema to the code's version (back the database up first)")
    db_commands.add_parser("current", help="the schema version of the database and of the code")
    db_revision = db_commands.add_parser(
        "revision", help="(developers) write the next migration: the models compared with the schema at head"
    )
    db_revision.add_argument("-m", "--message", required=True, help="what the migration changes")
    show = commands.add_parser("show", help="one submission by registration number")
    show.add_argument("number", help="123, 123/2026 or 123/22.11.2026")
    show.add_argument("--office", help="the office code (required with several offices: each numbers on its own)")
    show.add_argument("--json", action="store_true")
    check = commands.add_parser("check", help="check the configuration and every server it names (like nginx -t)")
    check.add_argument("--json", action="store_true")
    _add_gdpr_parsers(commands)
    archive = commands.add_parser("archive", help="long-term evidence (PAdES B-LTA receipts)")
    archive_commands = archive.add_subparsers(dest="archive_command", required=True, parser_class=_Parser)
    archive_refresh = archive_commands.add_parser(
        "refresh",
        help="add a document time-stamp to receipts whose evidence expires soon (archive.refresh_before_days)",
    )
    archive_refresh.add_argument("--dry-run", action="store_true", help="only list what is due")
    archive_refresh.add_argument("--json", action="store_true")
    archive_refresh.add_argument("--office", help="one office's code (default: every office)")
    for name in STATEFUL:  # `intake status --init` as well as `intake --init status`
        commands.choices[name].add_argument("--init", action="store_true", default=argparse.SUPPRESS, help=INIT_HELP)
    return parser


INIT_HELP = "create the database even where no configuration names it (default: refuse, saying where it looked)"
# The commands that open the database: without a configured database.url they refuse to create one (--init).
STATEFUL = ("run", "serve", "poll", "submissions", "status", "show", "confirm", "user", "db")
STATEFUL += ("purge", "subject-export", "archive")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        print(f"intake: {exc}", file=sys.stderr)
        return EXIT_USAGE
    configure_logging(logging.DEBUG if args.verbose else logging.INFO)
    handler = COMMANDS[args.command]
    try:
        return handler(args)
    except (ConfigError, UsageError) as exc:
        print(f"intake: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_OK
    except Exception as exc:
        log.debug("command failed", exc_info=exc)
        print(f"intake: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILURE


def _runtime(args: argparse.Namespace, clock: Clock | None = None):  # type: ignore[no-untyped-def]
    from intake.runtime import Runtime

    return Runtime.from_settings(_state_settings(args), clock)


def _state_settings(args: argparse.Namespace) -> Settings:
    """The settings of a command that opens the database, which it creates only where the configuration says."""
    from intake.check import refuse_unconfigured_database
    from intake.settings import resolve_config_path

    settings = load_settings(args.config)
    apply_settings(settings)
    refuse_unconfigured_database(settings, resolve_config_path(args.config), init=args.init)
    return settings


def _office(rt, code: str | None, *, required: bool):  # type: ignore[no-untyped-def]
    """The runtime of office `code` (--office); without one, the only office, or an error when there are several
    and the command needs one."""
    codes = [office.office for office in rt.offices]
    if code is not None:
        found = rt.for_office(code.strip().upper())
        if found is None:
            raise UsageError(f"--office: no office {code!r} in the configuration (offices: {', '.join(codes)})")
        return found
    if required and len(codes) > 1:
        raise UsageError(f"--office: several offices are configured ({', '.join(codes)}): name one")
    return rt


def _offices(rt, code: str | None) -> list:  # type: ignore[no-untyped-def,type-arg]
    """--office CODE: that office; none: every office."""
    return [_office(rt, code, required=False)] if code is not None else rt.offices


def _settings_with_trust(args: argparse.Namespace) -> Settings:
    """The settings for `run` and `poll`, which judge citizens' signatures: without a trusted list, the LOTL or an
    anchor no signature could ever be qualified, and every one would be reported to the citizen as untrusted."""
    from intake.signatures.trust_state import trust_sources_configured

    settings = _state_settings(args)
    if not trust_sources_configured(settings.trust):
        raise ConfigError(
            "configuration error: trust.lotl / trust.lists: no trust source configured (set trust.lotl, trust.lists "
            "or trust.anchors); without one every signature would be judged untrusted"
        )
    return settings


def cmd_run(args: argparse.Namespace) -> int:
    from intake.runtime import Runtime
    from intake.scheduler import Daemon

    settings = _settings_with_trust(args)
    rt = Runtime.from_settings(settings)
    _refuse_what_would_harm_citizens(rt, settings, args.config)
    for office in rt.offices:
        _ = office.signer  # each office's receipt key, loaded before the first message (checked just above)
        log.info("intake started for office %s, mailbox %s", office.office, office.settings.imap.account)
    daemon = Daemon(rt)

    def stop(signum: int, _frame: object) -> None:
        # Work in progress is safe to abandon (every stage is a transaction); just stop taking more.
        log.info("signal %s received: stopping", signum)
        daemon.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    daemon.start()
    log.info("intake stopped")
    return EXIT_OK


def _refuse_what_would_harm_citizens(rt, settings: Settings, config: str | None) -> None:  # type: ignore[no-untyped-def]
    """`intake check` at start: the failures that would harm citizens stop `run` (exit 2, one line each, naming the
    key); the others (a server down: the daemon retries) are warnings in the log."""
    from intake.check import ensure_port_free, run_checks
    from intake.settings import resolve_config_path

    if settings.web.enabled:
        ensure_port_free(settings.web)
    path = resolve_config_path(config)
    database = rt.engine.url.render_as_string(hide_password=True)
    log.info("configuration %s; database %s", path.resolve() if path else "(none: defaults)", database)
    results = run_checks(settings, lambda: rt.trust_store)
    refused = [result for result in results if result.refuses]
    for result in results:
        if not result.ok and not result.refuses:
            log.warning("check %s: %s (set %s)", result.check, result.detail, result.key)
    if refused:
        for result in refused[:-1]:
            print(f"intake: configuration error: {result.key}: {result.detail}", file=sys.stderr)
        last = refused[-1]
        raise ConfigError(f"configuration error: {last.key}: {last.detail}", last.key)


def cmd_check(args: argparse.Namespace) -> int:
    from intake.check import configuration_failure, configuration_result, run_checks
    from intake.settings import resolve_config_path

    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        results = [configuration_failure(exc)]
    else:
        results = [configuration_result(resolve_config_path(args.config)), *run_checks(settings)]
    if args.json:
        _print_json([result.as_json() for result in results])
    else:
        for result in results:
            print(result.line())
        failed = sum(not result.ok for result in results)
        print(f"{failed} problem{'s' if failed != 1 else ''}" if failed else f"all {len(results)} checks passed")
    if not results[0].ok:
        return EXIT_USAGE
    return EXIT_FAILURE if any(not result.ok for result in results) else EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from intake.check import ensure_port_free
    from intake.web.app import serve

    rt = _runtime(args)
    web = rt.settings.web
    ensure_port_free(web)
    log.info("web interface on http://%s:%s", web.host, web.port)
    serve(rt)
    return EXIT_OK


def cmd_poll(args: argparse.Namespace) -> int:
    from intake import election
    from intake.runtime import Runtime
    from intake.scheduler import drain

    settings = _settings_with_trust(args)
    clock = Clock()
    if args.now:
        try:
            clock = Clock(parse_instant(args.now, settings.office.timezone))
        except ValueError as exc:
            raise UsageError(f"--now: not an ISO-8601 instant: {args.now!r}") from exc
    rt = Runtime.from_settings(settings, clock)
    for office in rt.offices:
        _ = office.signer
    pollers = election.for_offices(rt)  # beside a running daemon (or another host's), only the parallel stages
    try:
        reports = drain(rt, pollers)
    finally:
        for poller in pollers.values():
            poller.close()
    several = len(reports) > 1
    failed = False
    for code, report in reports.items():
        if not report.leader:
            where = f" of office {code}" if several else ""
            print(
                f"intake: another intake process polls the mailbox{where}: this poll ran only the checks of the "
                "mail already claimed (no fetch, registration or sending)",
                file=sys.stderr,
            )
        log.info(
            "poll%s: claimed %s, processed %s, moved %s, sent %s, deferred %s, failed %s",
            f" {code}" if several else "",
            report.fetched.claimed,
            report.processed,
            report.moved,
            report.sent.sent,
            report.sent.deferred,
            report.sent.failed,
        )
        if report.imap_error:
            where = f" of office {code}" if several else ""
            print(f"intake: mailbox{where} unreachable: {report.imap_error}", file=sys.stderr)
            failed = True
    return EXIT_FAILURE if failed else EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from intake.demo import run_demo

    return run_demo(args.output, serve=args.serve, port=args.port)


def cmd_submissions(args: argparse.Namespace) -> int:
    from intake.db import read_transaction
    from intake.views import all_submissions

    rt = _runtime(args)
    offices = _offices(rt, args.office)
    with read_transaction(rt.engine) as session:
        rows = [row for office in offices for row in all_submissions(session, office)]
    if len(offices) > 1:  # newest first across offices too (ISO instants in the offices' own zones)
        rows.sort(key=lambda row: _instant(row["received_at"]), reverse=True)
    if args.json:
        _print_json(rows)
    else:
        _print_table(rows)
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    from intake.db import read_transaction
    from intake.views import find_by_number, submission_view

    rt = _office(_runtime(args), args.office, required=True)
    with read_transaction(rt.engine) as session:
        submission = find_by_number(session, rt, args.number)
        if submission is None:
            print(f"intake: no submission with registration number {args.number}", file=sys.stderr)
            return EXIT_FAILURE
        view = submission_view(session, rt, submission)
    if args.json:
        _print_json(view)
    else:
        for key, value in view.items():
            print(f"{key:>20}: {json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else value}")
    return EXIT_OK


def cmd_confirm(args: argparse.Namespace) -> int:
    """The web's "Confirmă dosarul" from a terminal: the same action, audited under the clerk's account."""
    from sqlmodel import select

    from intake.db import transaction
    from intake.models import StaffUser
    from intake.runtime import Runtime
    from intake.views import find_by_number, submission_view
    from intake.web import case_actions
    from intake.web.auth import CurrentUser

    settings = _state_settings(args)
    clock = Clock()
    if args.now:
        try:
            clock = Clock(parse_instant(args.now, settings.office.timezone))
        except ValueError as exc:
            raise UsageError(f"--now: not an ISO-8601 instant: {args.now!r}") from exc
    deployment = Runtime.from_settings(settings, clock)
    with transaction(deployment.engine) as session:
        account = session.exec(select(StaffUser).where(StaffUser.name == args.by)).first()
        # The case is looked up in the clerk's own office: a clerk confirms only cases of her office.
        rt = deployment.for_office(account.office) if account is not None else None
        if account is None or not account.active or rt is None:
            raise UsageError(f"--by: no active staff account {args.by!r} in the configured offices")
        if account.role not in ("registry", "admin"):
            raise UsageError(f"--by: {args.by!r} has role {account.role}; confirming a case needs registry or admin")
        submission = find_by_number(session, rt, args.number)
        if submission is None:
            print(f"intake: no submission with registration number {args.number}", file=sys.stderr)
            return EXIT_FAILURE
        user = CurrentUser(id=account.id or 0, name=account.name, role=account.role, office=account.office)
        try:
            case_actions.confirm_file(session, rt, user, submission)
        except case_actions.ActionError as exc:
            print(f"intake: case {args.number} cannot be confirmed: {exc.key}", file=sys.stderr)
            return EXIT_FAILURE
        view = submission_view(session, rt, submission)
    appointment = view["appointment"]
    when = appointment["start"] if appointment else "no free slot: staff must arrange it"
    print(f"case {view['case']} confirmed by {args.by}; visit: {when}")
    return EXIT_OK


def _add_gdpr_parsers(commands: Any) -> None:
    purge = commands.add_parser("purge", help="erase what is past its retention ([retention]), every erasure audited")
    purge.add_argument("--dry-run", action="store_true", help="only list what would be erased")
    purge.add_argument("--json", action="store_true")
    purge.add_argument("--office", help="one office's code (default: every office)")
    purge.add_argument("--now", help="ISO-8601 instant used as 'now' (tests and replays)")
    export = commands.add_parser("subject-export", help="everything held on one person (GDPR Art. 15), as a ZIP")
    export.add_argument("subject", help="the person's CNP or e-mail address")
    export.add_argument("--output", required=True, help="the ZIP file to write")
    export.add_argument("--office", help="the office code (required with several offices)")


def _clock_at(settings: Settings, now: str | None) -> Clock:
    try:
        return Clock(parse_instant(now, settings.office.timezone)) if now else Clock()
    except ValueError as exc:
        raise UsageError(f"--now: not an ISO-8601 instant: {now!r}") from exc


def _operator() -> str:
    """Who ran a command, for the audit trail: the account of the shell."""
    import getpass

    return f"cli:{getpass.getuser()}"


def cmd_purge(args: argparse.Namespace) -> int:
    from intake.purge import purge
    from intake.runtime import Runtime

    settings = _state_settings(args)
    deployment = Runtime.from_settings(settings, _clock_at(settings, args.now))
    reports = [purge(rt, dry_run=args.dry_run, actor=_operator()) for rt in _offices(deployment, args.office)]
    if args.json:
        _print_json(reports[0].as_json() if len(reports) == 1 else {"offices": [r.as_json() for r in reports]})
        return EXIT_OK
    verb = "would erase" if args.dry_run else "erased"
    for report in reports:
        for item in report.purged:
            print(
                f"{verb} {item.what:<12} case {item.case or '#' + str(item.submission_id):<18} "
                f"{item.messages} message(s), {item.blobs} file(s); retention ended {item.expired_at[:10]}"
            )
        for held in report.held:
            print(
                f"kept (legal hold) case {held['case'] or '#' + str(held['submission_id'])}: {', '.join(held['what'])}"
            )
        if report.audit_entries:
            print(f"{verb} {report.audit_entries} audit entries past retention.audit_days")
        if not (report.purged or report.held or report.audit_entries):
            print("nothing is past its retention")
    return EXIT_OK


def cmd_subject_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from intake import subject_export
    from intake.db import transaction

    rt = _office(_runtime(args), args.office, required=True)
    try:
        subject = subject_export.parse_subject(args.subject)
    except subject_export.SubjectError as exc:
        raise UsageError(f"subject: {exc}") from None
    result = subject_export.export(rt, subject)
    output = Path(args.output)
    output.write_bytes(result.data)
    output.chmod(0o600)  # personal data: readable by whoever ran the export only
    with transaction(rt.engine) as session:
        subject_export.record_export(session, rt, _operator(), subject, result)
    print(f"{output}: {result.cases} case(s), {result.files} file(s)")
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from pathlib import Path

    from intake.signatures.trust_store import TrustStore
    from intake.signatures.verify import VerificationPolicy, verify_files

    paths = [Path(name) for name in args.files]
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise UsageError(f"no such file: {', '.join(missing)}")
    settings = load_settings(args.config)
    at = None
    if args.at:
        try:
            at = parse_instant(args.at, settings.office.timezone)
        except ValueError as exc:
            raise UsageError(f"--at: not an ISO-8601 instant: {args.at!r}") from exc
    trust = TrustStore.from_settings(settings.trust, settings.storage.path / "trust-cache", now=at)
    policy = VerificationPolicy(trust=trust, revocation=settings.trust.revocation, validation_time=at)
    results = verify_files(paths, policy)
    if args.json:
        _print_json(results)
        return EXIT_OK
    for result in results:
        signature = result["signature"]
        print(f"{result['file']}: {signature['label']}  {signature.get('summary') or ''}")
        for index, entry in enumerate(result["signatures"]):
            mark = "*" if index == signature.get("applicant_signature") else " "  # the signature that decides
            reasons = ", ".join(entry.get("reasons") or [])
            print(f"  {mark} {entry['label']:<14} {entry.get('signer') or '-'}  {entry.get('time_source')}  {reasons}")
    return EXIT_OK


def cmd_user(args: argparse.Namespace) -> int:
    from sqlmodel import select

    from intake.db import transaction
    from intake.models import StaffUser
    from intake.web.auth import create_user, set_password

    deployment = _runtime(args)
    # The office first: a missing --office is refused before anyone types a password.
    office = _office(deployment, args.office, required=True).office if args.user_command == "add" else None
    password = _read_password()
    try:
        with transaction(deployment.engine) as session:
            if office is not None:
                create_user(session, office, args.name, args.role, password)
            else:  # names are unique across offices: the account names its office
                account = session.exec(select(StaffUser).where(StaffUser.name == args.name.strip())).first()
                set_password(session, account.office if account else deployment.office, args.name, password)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if office is None:
        print(f"password of {args.name} changed; its sessions are ended")
    else:
        print(f"user {args.name} ({args.role}, office {office}) created")
    return EXIT_OK


def cmd_db(args: argparse.Namespace) -> int:
    """Schema commands open the database without the start-up check, which would refuse exactly what they fix."""
    from intake import schema
    from intake.db import open_engine

    if args.db_command == "revision":  # needs no configuration: it compares against a scratch database
        print(f"written {schema.write_revision(args.message)}: review it, then test it (tests/unit/test_migrations.py)")
        return EXIT_OK
    engine = open_engine(_state_settings(args).database.url)
    try:
        if args.db_command == "current":
            print(schema.describe(engine))
            return EXIT_OK
        before, after = schema.upgrade(engine)
    finally:
        engine.dispose()
    if before is None:
        print(f"database schema: empty → {after} (created)")
    elif before == after:
        print(f"database schema: {after} → {after} (already current)")
    else:
        print(f"database schema: {before} → {after}")
    return EXIT_OK


def _read_password() -> str:
    """From the terminal without echo, or the first line of standard input (scripts, CI)."""
    if sys.stdin.isatty():
        import getpass

        password = getpass.getpass("Parolă: ")
        if getpass.getpass("Parola din nou: ") != password:
            raise UsageError("the two passwords differ")
        return password
    line = sys.stdin.readline()
    if not line:
        raise UsageError("no password on standard input")
    return line.rstrip("\r\n")


def cmd_status(args: argparse.Namespace) -> int:
    from intake.db import read_transaction
    from intake.views import status_view

    rt = _runtime(args)
    offices = _offices(rt, args.office)
    with read_transaction(rt.engine) as session:
        views = [status_view(session, office) for office in offices]
    # One office: today's object. Several: {"offices": [one such object per office]}.
    view: Any = views[0] if len(views) == 1 else {"offices": views}
    if args.json:
        _print_json(view)
    else:
        print(json.dumps(view, indent=2, ensure_ascii=False))
    return EXIT_OK


def cmd_archive(args: argparse.Namespace) -> int:
    """`archive refresh`: exit 0 when everything due was refreshed (or listed, with --dry-run), 1 when one failed."""
    from intake import archive

    deployment = _runtime(args)
    reports = [archive.refresh(rt, dry_run=args.dry_run) for rt in _offices(deployment, args.office)]
    if args.json:
        _print_json([report.as_json() for report in reports])
    else:
        for report in reports:
            verb = "due" if report.dry_run else "refreshed"
            count = len(report.due) if report.dry_run else report.refreshed
            print(f"office {report.office}: {count} receipt(s) {verb}, {report.failed} failed")
            for item in report.due:
                outcome = item.error or (f"now verifiable until {item.new_expires_at}" if item.new_sha256 else "due")
                print(f"  {item.registration}  v{item.version}  until {item.expires_at} ({item.expiring}): {outcome}")
    return EXIT_FAILURE if any(report.failed for report in reports) else EXIT_OK


def _print_json(value: Any) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


def _instant(text: str | None) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text).timestamp() if text else 0.0


def _print_table(rows: list[dict[str, Any]]) -> None:
    from datetime import datetime

    from intake.texts import labels  # states and dates as the staff pages show them (issue 12)

    print(f"{'nr. înregistrare':<18} {'primit la':<16} {'stare':<22} {'expeditor':<30} subiect")
    for row in rows:
        received = labels.date_time(datetime.fromisoformat(row["received_at"])) if row["received_at"] else ""
        print(
            f"{row['registration_number'] or '-':<18} {received:<16} {labels.label(row['state'], 'stare'):<22} "
            f"{(row['sender'] or '-')[:30]:<30} {(row['subject'] or '')[:60]}"
        )


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": cmd_run,
    "serve": cmd_serve,
    "poll": cmd_poll,
    "demo": cmd_demo,
    "submissions": cmd_submissions,
    "show": cmd_show,
    "confirm": cmd_confirm,
    "status": cmd_status,
    "verify": cmd_verify,
    "user": cmd_user,
    "db": cmd_db,
    "check": cmd_check,
    "purge": cmd_purge,
    "subject-export": cmd_subject_export,
    "archive": cmd_archive,
}


if __name__ == "__main__":
    sys.exit(main())
