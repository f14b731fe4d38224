"""A private, throw-away Dovecot 2.3 IMAP server for integration tests.

The Debian service cannot be used (it does not start in a container, and it would be shared between
tests), so every instance gets its own config, port, base_dir, state and mail directory and runs in
the foreground as our child process.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import grp
import os
import pwd
import random
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import imapclient
from imapclient import imap_utf7

DOVECOT_MISSING = "dovecot not installed: apt-get install -y dovecot-imapd"
DEFAULT_AUTO_FOLDERS: tuple[str, ...] = ("Processed", "Quarantine")

_APPENDUID = re.compile(rb"\[APPENDUID (\d+) (\d+)\]", re.IGNORECASE)
# dovecot-uidlist v3 record: "<uid> [<ext> ...] :<maildir base filename>"
_UIDLIST_LINE = re.compile(r"^(\d+)(?: [^:\s]\S*)* :(\S+)$", re.MULTILINE)
_PR_SET_PDEATHSIG = 1
_PORT_ATTEMPTS = 5
_FALLBACK_BINARIES: tuple[str, ...] = ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot")


@dataclass
class DovecotServer:
    host: str
    port: int
    username: str
    password: str
    base: Path
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _run_dir: Path | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- IMAP helpers (each opens its own connection so tests never share client state) --

    def client(self, timeout: float = 10.0) -> imapclient.IMAPClient:
        """A logged-in plain-text client; the caller must call logout().

        imapclient's default `normalise_times=True` turns INTERNALDATE into a naive local time;
        set `client.normalise_times = False` to get aware datetimes.
        """
        client = imapclient.IMAPClient(self.host, port=self.port, ssl=False, timeout=timeout)
        try:
            client.login(self.username, self.password)
        except BaseException:
            client.shutdown()
            raise
        return client

    def append(
        self,
        raw: bytes,
        folder: str = "INBOX",
        internaldate: datetime | None = None,
        flags: Sequence[str] = (),
    ) -> int:
        """APPEND a message and return its UID (from the UIDPLUS APPENDUID response code).

        `internaldate` may lie in the future: Dovecot's APPEND silently replaces dates more than 2 h
        ahead of its clock with "now", so we also set the Maildir file's mtime, which is where
        Dovecot keeps INTERNALDATE (never cached: see mail_never_cache_fields). A client fetching the
        message within the ~1 ms between the two steps could still see "now".
        Maildir keeps no UTC offset: INTERNALDATE comes back in the server's `timezone`.
        A naive `internaldate` is interpreted by imapclient as local machine time: pass an aware one.
        """
        with self._session() as client:
            response = client.append(folder, raw, flags=tuple(flags), msg_time=internaldate)
        match = _APPENDUID.search(response if isinstance(response, bytes) else response.encode())
        if match is None:
            raise RuntimeError(f"APPEND response without APPENDUID: {response!r}")
        uid = int(match.group(2))
        if internaldate is not None:
            self._set_internaldate(folder, uid, internaldate.timestamp())
        return uid

    def uids(self, folder: str = "INBOX") -> list[int]:
        with self._session() as client:
            client.select_folder(folder, readonly=True)
            return sorted(int(uid) for uid in client.search("ALL"))

    def fetch_raw(self, folder: str, uid: int) -> bytes:
        # EXAMINE + BODY.PEEK: reading a message in a test must never change its \Seen flag.
        with self._session() as client:
            client.select_folder(folder, readonly=True)
            data = client.fetch([uid], ["BODY.PEEK[]"])
        if uid not in data:
            raise KeyError(f"UID {uid} not found in {folder!r}")
        return bytes(data[uid][b"BODY[]"])

    def fetch_all_raw(self, folder: str) -> list[bytes]:
        """Every message of `folder` as stored, in one session (BODY.PEEK: flags untouched)."""
        with self._session() as client:
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            data = client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
        return [bytes(item[b"BODY[]"]) for item in data.values()]

    def create_folder(self, name: str) -> None:
        """Create a folder; a no-op if it exists (Processed/Quarantine may be auto-created)."""
        with self._session() as client:
            if not client.folder_exists(name):
                client.create_folder(name)

    def folder_path(self, folder: str) -> Path:
        """The Maildir++ directory of `folder` (modified UTF-7 name, "/" stored as ".")."""
        root = self.base / "mail" / self.username
        if folder.upper() == "INBOX":
            return root
        return root / ("." + imap_utf7.encode(folder).decode("ascii").replace("/", "."))

    def log_tail(self, lines: int = 40) -> str:
        return _log_tail(self.base, lines)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def as_user(self, username: str, password: str) -> DovecotServer:
        """The same server seen by another of its users (`extra_users` of start_dovecot): helpers log in as that
        user; stopping the view leaves the server running."""
        return DovecotServer(self.host, self.port, username, password, self.base)

    # -- lifecycle --

    def stop(self) -> None:
        """Stop the instance and remove its runtime dir; idempotent. Mail under `base` is kept."""
        with self._lock:
            process, self._process = self._process, None
            run_dir, self._run_dir = self._run_dir, None
        atexit.unregister(self.stop)
        if process is not None:
            _terminate(process)
        if run_dir is not None:
            shutil.rmtree(run_dir, ignore_errors=True)

    def __enter__(self) -> DovecotServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _set_internaldate(self, folder: str, uid: int, stamp: float) -> None:
        directory = self.folder_path(folder)
        uidlist = (directory / "dovecot-uidlist").read_text(encoding="utf-8", errors="replace")
        names = [m.group(2) for m in _UIDLIST_LINE.finditer(uidlist) if int(m.group(1)) == uid]
        if not names:
            raise RuntimeError(f"UID {uid} not in {directory / 'dovecot-uidlist'}")
        name = names[-1]
        # Another session may be renaming the file from new/ to cur/ (adding ":2,flags") meanwhile.
        for _attempt in range(50):
            for sub in ("cur", "new"):
                for path in (directory / sub).iterdir():
                    if path.name == name or path.name.startswith(name + ":"):
                        with contextlib.suppress(FileNotFoundError):
                            os.utime(path, (stamp, stamp))
                            return
            time.sleep(0.01)
        raise RuntimeError(f"Maildir file {name} of UID {uid} not found under {directory}")

    @contextlib.contextmanager
    def _session(self) -> Iterator[imapclient.IMAPClient]:
        client = self.client()
        try:
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.logout()


# What the `dovecot_factory` fixture yields: (base: Path | None = None, **start_dovecot_kwargs).
DovecotFactory = Callable[..., DovecotServer]


def make_dovecot_base(prefix: str = "intake-dovecot-") -> Path:
    """A fresh base dir that Dovecot's unprivileged processes can reach.

    pytest's tmp_path lives under /tmp/pytest-of-root (mode 0700) when running as root, where
    `nobody` cannot reach its mail dir, so Dovecot bases must not live there.
    """
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def start_dovecot(
    base: Path,
    *,
    username: str = "intake",
    password: str = "secret",
    auto_folders: Sequence[str] = DEFAULT_AUTO_FOLDERS,
    timezone: str = "UTC",
    timeout: float = 15.0,
    extra_users: Sequence[tuple[str, str]] = (),
) -> DovecotServer:
    """Start (or restart, if `base` holds an earlier instance's mail) a private Dovecot.

    `auto_folders` are created for every user at login. `timezone` is the server's TZ, in which
    INTERNALDATE is reported (fixed, so results do not depend on the developer's TZ variable).
    `extra_users` are more (username, password) accounts, each with its own mailbox (`DovecotServer.as_user`).

    Raises RuntimeError (never skips) when dovecot is missing or does not come up.
    """
    # Non-root PATHs on Debian lack /usr/sbin, hence the explicit fallbacks.
    binary = shutil.which("dovecot") or next((p for p in _FALLBACK_BINARIES if os.access(p, os.X_OK)), None)
    if binary is None:
        raise RuntimeError(DOVECOT_MISSING)
    for user, secret in ((username, password), *extra_users):
        _check_user_fields(user, secret)
    if not re.fullmatch(r"[A-Za-z0-9_+\-/]+", timezone):
        raise ValueError(f"invalid timezone {timezone!r}")
    if timezone != "UTC" and not (Path("/usr/share/zoneinfo") / timezone).is_file():
        # glibc silently falls back to UTC for an unknown TZ: fail instead of reporting wrong offsets.
        raise RuntimeError(f"time zone {timezone} unknown to the system: apt-get install -y tzdata")

    base = Path(base).resolve()
    base.mkdir(parents=True, exist_ok=True)
    if re.search(r"\s", str(base)):
        # Dovecot config values are whitespace-separated (userdb args).
        raise RuntimeError(f"Dovecot base path must not contain whitespace: {base}")
    users = _process_users()
    _check_reachable(base, users.mail_uid, users.mail_gid)

    mail_dir = base / "mail"
    mail_dir.mkdir(exist_ok=True)
    (base / "state").mkdir(exist_ok=True)
    if os.geteuid() == 0:
        os.chown(mail_dir, users.mail_uid, users.mail_gid)
    mail_dir.chmod(0o750)

    passwd = base / "passwd"
    passwd.write_text(
        "".join(_passwd_line(user, secret) for user, secret in ((username, password), *extra_users)), encoding="utf-8"
    )
    # The auth process runs as default_internal_user, not root: it must be able to read this.
    passwd.chmod(0o644)

    last_error = ""
    for _attempt in range(_PORT_ATTEMPTS):
        port = _free_port()
        # base_dir holds unix sockets (108-byte path limit), so keep it short and outside `base`.
        run_dir = Path(tempfile.mkdtemp(prefix="dcv-"))
        run_dir.chmod(0o755)
        conf = base / "dovecot.conf"
        conf.write_text(_config(base, run_dir / "b", port, users, auto_folders, timezone), encoding="utf-8")
        with (base / "dovecot.stderr").open("wb") as stderr:
            process = subprocess.Popen(
                [binary, "-F", "-c", str(conf)],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,  # our own process group: stop() can sweep every child
                preexec_fn=_die_with_parent if threading.current_thread() is threading.main_thread() else None,
            )
        server = DovecotServer("127.0.0.1", port, username, password, base, process, run_dir)
        atexit.register(server.stop)
        try:
            _wait_ready(server, process, timeout)
            return server
        except RuntimeError as exc:
            server.stop()
            last_error = str(exc)
            if "Address already in use" not in last_error:
                raise
    raise RuntimeError(f"Dovecot could not bind a free port after {_PORT_ATTEMPTS} attempts:\n{last_error}")


# -- internals --


@dataclass(frozen=True)
class _Users:
    mail_user: str
    mail_group: str
    mail_uid: int
    mail_gid: int
    login_user: str
    internal_user: str
    internal_group: str


def _process_users() -> _Users:
    if os.geteuid() != 0:
        # Unprivileged: Dovecot cannot switch users, so every process (and the mail) runs as us.
        me = pwd.getpwuid(os.geteuid())
        group = grp.getgrgid(os.getegid()).gr_name
        return _Users(me.pw_name, group, me.pw_uid, os.getegid(), me.pw_name, me.pw_name, group)
    # Root: Dovecot refuses mail access as uid 0 (login works, SELECT fails), so mail belongs to nobody.
    nobody = pwd.getpwnam("nobody")
    nogroup = _first_group(("nogroup", "nobody"))
    login = _first_user(("dovenull", "nobody"))
    internal = _first_user(("dovecot", "nobody"))
    internal_group = _first_group(("dovecot", nogroup.gr_name))
    return _Users("nobody", nogroup.gr_name, nobody.pw_uid, nogroup.gr_gid, login, internal, internal_group.gr_name)


def _first_user(names: Sequence[str]) -> str:
    for name in names:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name).pw_name
    raise RuntimeError(f"none of the users {names} exist (is dovecot-core installed?)")


def _first_group(names: Sequence[str]) -> grp.struct_group:
    for name in names:
        with contextlib.suppress(KeyError):
            return grp.getgrnam(name)
    raise RuntimeError(f"none of the groups {names} exist")


def _check_reachable(base: Path, uid: int, gid: int) -> None:
    """Fail early and clearly instead of with a confusing 'Permission denied' in Dovecot's log."""
    if os.geteuid() != 0:
        return
    for directory in (base, *base.parents):
        st = directory.stat()
        if st.st_uid == uid:
            ok = bool(st.st_mode & stat.S_IXUSR)
        elif st.st_gid == gid:
            ok = bool(st.st_mode & stat.S_IXGRP)
        else:
            ok = bool(st.st_mode & stat.S_IXOTH)
        if not ok:
            raise RuntimeError(
                f"{directory} is not traversable by uid {uid}, so Dovecot cannot reach {base}. "
                "Use tests.servers.dovecot.make_dovecot_base() instead of pytest's tmp_path."
            )


def _check_user_fields(username: str, password: str) -> None:
    if not username or re.search(r"[\s:%/]", username) or re.search(r"[\s:]", password):
        raise ValueError("username/password must be non-empty, without whitespace or ':' (passwd-file)")


def _passwd_line(username: str, password: str) -> str:
    return f"{username}:{{PLAIN}}{password}::::::\n"


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _config(base: Path, base_dir: Path, port: int, users: _Users, auto_folders: Sequence[str], timezone: str) -> str:
    mailboxes = "\n".join(f"  mailbox {_quote(name)} {{\n    auto = create\n  }}" for name in auto_folders)
    # Dovecot 2.3 option names (Debian 12); 2.4 renamed many of them.
    return f"""\
# Generated by tests/servers/dovecot.py: a private test instance, not the system service.
protocols = imap
listen = 127.0.0.1
base_dir = {base_dir}
state_dir = {base / "state"}
instance_name = intake-test-{port}
log_path = {base / "dovecot.log"}
info_log_path = {base / "dovecot.log"}
auth_verbose = yes
import_environment = TZ={timezone}

default_login_user = {users.login_user}
default_internal_user = {users.internal_user}
default_internal_group = {users.internal_group}
# Allow a non-root test user's low uid; uid 0 is still refused for mail access.
first_valid_uid = 1

ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
login_trusted_networks = 127.0.0.0/8
# Tests of wrong passwords must not wait the default 2 s per failure.
auth_failure_delay = 0

passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base / "passwd"}
}}
userdb {{
  driver = static
  args = uid={users.mail_uid} gid={users.mail_gid} home={base / "mail"}/%u
}}

mail_location = maildir:{base / "mail"}/%u
# Test data is disposable; fsync only slows the suite down.
mail_fsync = never
# INTERNALDATE must always be read from the file's mtime, so that append() can set future dates.
mail_never_cache_fields = imap.envelope date.received
mail_max_userip_connections = 100

namespace inbox {{
  inbox = yes
  separator = /
  prefix =
{mailboxes}
}}

service imap-login {{
  # No chroot: it needs root, and isolation from other logins is irrelevant in a test.
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


def _free_port() -> int:
    """A port that is free now; Dovecot binds it a few ms later, so callers retry on EADDRINUSE.

    Chosen below the kernel's ephemeral range, so that outgoing connections made in between (which get
    ephemeral source ports) cannot take it; only another test process picking the same number can.
    """
    low = 32768
    with contextlib.suppress(OSError, ValueError):
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    rng = random.SystemRandom()
    candidates = [rng.randrange(10000, low) for _ in range(50)] if low > 11000 else []
    for port in [*candidates, 0]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError("no free TCP port on 127.0.0.1")


def _wait_ready(server: DovecotServer, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            time.sleep(0.05)  # let the log process flush the fatal error
            raise RuntimeError(f"dovecot exited with status {process.returncode} during startup:\n{server.log_tail()}")
        try:
            # Short timeout: if another process holds the port, it accepts but never greets us.
            client = server.client(timeout=1.0)
        except (OSError, imapclient.exceptions.IMAPClientError) as exc:
            last_exc = exc  # not listening yet, or auth not ready: keep polling until the deadline
            time.sleep(0.02)
            continue
        with contextlib.suppress(Exception):
            client.logout()
        return
    raise RuntimeError(
        f"dovecot on 127.0.0.1:{server.port} not ready after {timeout:.0f} s (last error: {last_exc!r}):\n"
        f"{server.log_tail()}"
    )


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        # Dovecot's master stops its children within ~0.1 s and then sleeps a hard-coded second before
        # exiting, only so that its log process can drain. The log process drains by itself once the
        # master is gone, so we cut that sleep short: a function-scoped server then costs ~0.2 s, not ~1.3 s.
        deadline = time.monotonic() + 10
        settled_since: float | None = None
        while process.poll() is None and time.monotonic() < deadline:
            members = _group_members(process.pid)
            if members <= {"log"}:
                # Prefer the moment the master has reaped all other children: killing it earlier
                # hands their zombies to init, which some container inits never reap. A child that
                # exited after the master's last reap stays a zombie until it exits, so do not wait
                # forever for that.
                settled_since = settled_since or time.monotonic()
                reaped = _group_members(process.pid, include_zombies=True) <= {"log"}
                if reaped or time.monotonic() - settled_since > 0.15:
                    process.kill()
                    break
            else:
                settled_since = None
            time.sleep(0.01)
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    # Let the orphaned log process flush and exit, then sweep anything that lingers.
    deadline = time.monotonic() + 1
    while _group_members(process.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _group_members(pgid: int, *, include_zombies: bool = False) -> set[str]:
    """Names of the processes in the group, except its leader (Linux /proc).

    Without /proc this returns {"?"}, which makes the callers fall back to plain waiting.
    """
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        return {"?"}
    names: set[str] = set()
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == pgid:
            continue
        try:
            stat_line = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may itself contain spaces or parentheses.
        comm = stat_line[stat_line.index("(") + 1 : stat_line.rindex(")")]
        fields = stat_line[stat_line.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and (fields[0] != "Z" or include_zombies):
            names.add(comm)
    return names


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: if the test process is killed (-9, CI timeout), the
    # kernel sends SIGTERM to Dovecot instead of leaving it listening forever.
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _log_tail(base: Path, lines: int) -> str:
    parts = []
    for name in ("dovecot.log", "dovecot.stderr"):
        path = base / name
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            continue
        if text.strip():
            parts.append(f"--- {path} (tail) ---\n" + "\n".join(text.splitlines()[-lines:]))
    return "\n".join(parts) or f"(no Dovecot log under {base})"
