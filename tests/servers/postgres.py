"""A private, throw-away PostgreSQL 15 cluster for tests, from Debian's `postgresql-15` binaries.

The Debian service cannot be used (it does not start in a container, and it would be shared with whatever else
runs on the machine), so a test session gets its own cluster: `initdb` into a temporary directory, `postgres` in
the foreground as our child process on 127.0.0.1 and a free port, no Unix socket. PostgreSQL refuses to run as
root, so as root the cluster runs as the `postgres` system user the package creates.

intake connects as an ordinary role (`intake`, password auth over TCP) that owns its database, as the README
tells operators to set it up: a test passing here proves intake needs no superuser.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from tests.servers.dovecot import _free_port  # the same below-the-ephemeral-range choice as Dovecot's

PG_BIN = Path(os.environ.get("INTAKE_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
POSTGRES_MISSING = (
    f"PostgreSQL 15 not found in {PG_BIN}: run scripts/install-test-servers (apt-get install -y postgresql-15)"
)
ADMIN_USER = "postgres"
APP_USER = "intake"
APP_PASSWORD = "secret"
_PORT_ATTEMPTS = 5
_PR_SET_PDEATHSIG = 1

# Test data is disposable: durability only slows the suite down. One cluster serves a whole session, so a few
# dozen connections (pools of several intake processes and threads) must fit.
_SERVER_OPTIONS: tuple[tuple[str, str], ...] = (
    ("listen_addresses", "127.0.0.1"),
    ("unix_socket_directories", ""),
    ("fsync", "off"),
    ("synchronous_commit", "off"),
    ("full_page_writes", "off"),
    ("max_connections", "200"),
    ("shared_buffers", "32MB"),
    ("log_min_messages", "warning"),
    ("log_line_prefix", "%m [%p] %d "),
    ("TimeZone", "UTC"),
)


@dataclass
class PostgresServer:
    host: str
    port: int
    base: Path
    admin_password: str
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _counter: int = field(default=0, repr=False)

    def url(self, database: str, *, user: str = APP_USER, password: str = APP_PASSWORD) -> str:
        """The SQLAlchemy URL intake is configured with (`database.url`)."""
        return f"postgresql+psycopg://{user}:{password}@{self.host}:{self.port}/{database}"

    def admin(self, database: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        """A superuser connection in autocommit mode (CREATE/DROP DATABASE cannot run in a transaction)."""
        return psycopg.connect(
            host=self.host, port=self.port, user=ADMIN_USER, password=self.admin_password, dbname=database,
            autocommit=True, connect_timeout=5,
        )

    def create_database(self, prefix: str = "t") -> str:
        """A fresh, empty database owned by the `intake` role; returns its name."""
        with self._lock:
            self._counter += 1
            name = f"{prefix}_{os.getpid()}_{self._counter}"
        with self.admin() as connection:
            create = sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(APP_USER))
            connection.execute(create)
        return name

    def drop_database(self, name: str) -> None:
        # FORCE: a test that failed half-way may leave intake's pooled connections open.
        with self.admin() as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = (self.base / "postgres.log").read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return f"(no PostgreSQL log under {self.base})"
        return "\n".join(text.splitlines()[-lines:]) or "(PostgreSQL log empty)"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        """Stop the cluster and delete it; idempotent."""
        with self._lock:
            process, self._process = self._process, None
        atexit.unregister(self.stop)
        if process is not None:
            _terminate(process)
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_postgres(timeout: float = 30.0) -> PostgresServer:
    """initdb a fresh cluster, start it, create the `intake` role. Raises RuntimeError (never skips) on failure."""
    for binary in ("initdb", "postgres"):
        if not os.access(PG_BIN / binary, os.X_OK):
            raise RuntimeError(POSTGRES_MISSING)
    run_as = _run_as()
    base = Path(tempfile.mkdtemp(prefix="intake-pg-"))
    try:
        if run_as is not None:
            os.chown(base, run_as.pw_uid, run_as.pw_gid)
        admin_password = secrets.token_hex(16)
        _initdb(base, admin_password, run_as)
        server = _start(base, admin_password, run_as, timeout)
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise
    with server.admin() as connection:
        connection.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(APP_USER), sql.Literal(APP_PASSWORD))
        )
    return server


# -- internals --


def _run_as() -> pwd.struct_passwd | None:
    """The account the cluster runs as: ourselves, or `postgres` when we are root (initdb refuses root)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError("running as root and there is no `postgres` user: " + POSTGRES_MISSING) from None


def _popen_kwargs(run_as: pwd.struct_passwd | None) -> dict[str, object]:
    kwargs: dict[str, object] = {"stdin": subprocess.DEVNULL, "start_new_session": True}
    if run_as is not None:
        kwargs.update(user=run_as.pw_uid, group=run_as.pw_gid, extra_groups=[], env=_env(run_as))
    if threading.current_thread() is threading.main_thread():
        kwargs["preexec_fn"] = _die_with_parent
    return kwargs


def _env(run_as: pwd.struct_passwd) -> dict[str, str]:
    # HOME of root would be unreadable to `postgres`; a locale the system lacks would make initdb fail.
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("LC_", "PG"))}
    environment.update(HOME=run_as.pw_dir, USER=run_as.pw_name, LOGNAME=run_as.pw_name, LANG="C.UTF-8")
    return environment


def _initdb(base: Path, admin_password: str, run_as: pwd.struct_passwd | None) -> None:
    password_file = base / "admin-password"
    password_file.write_text(admin_password + "\n", encoding="utf-8")
    if run_as is not None:
        os.chown(password_file, run_as.pw_uid, run_as.pw_gid)
    password_file.chmod(0o600)
    command = [
        str(PG_BIN / "initdb"), "--pgdata", str(base / "data"), "--username", ADMIN_USER,
        "--pwfile", str(password_file), "--auth-host", "scram-sha-256", "--auth-local", "peer",
        # UTF-8 with C.UTF-8 character classes: lower()/ILIKE on Romanian letters behave as in production.
        "--encoding", "UTF8", "--locale", "C.UTF-8", "--no-sync",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, timeout=120, check=False, **_popen_kwargs(run_as))  # type: ignore[call-overload]
    password_file.unlink()
    if result.returncode != 0:
        raise RuntimeError(
            f"initdb exited {result.returncode}:\n{result.stdout.decode(errors='replace')}"
            f"{result.stderr.decode(errors='replace')}"
        )


def _start(base: Path, admin_password: str, run_as: pwd.struct_passwd | None, timeout: float) -> PostgresServer:
    last_error = ""
    for _attempt in range(_PORT_ATTEMPTS):
        port = _free_port()
        command = [str(PG_BIN / "postgres"), "-D", str(base / "data"), "-p", str(port)]
        for name, value in _SERVER_OPTIONS:
            command += ["-c", f"{name}={value}"]
        log = base / "postgres.log"
        with log.open("ab") as output:
            if run_as is not None:
                os.chown(log, run_as.pw_uid, run_as.pw_gid)
            process = subprocess.Popen(command, stdout=output, stderr=output, **_popen_kwargs(run_as))  # type: ignore[call-overload]
        server = PostgresServer("127.0.0.1", port, base, admin_password, process)
        atexit.register(server.stop)
        try:
            _wait_ready(server, process, timeout)
            return server
        except RuntimeError as exc:
            _terminate(process)
            atexit.unregister(server.stop)
            last_error = str(exc)
            if "already in use" not in last_error:
                raise
    raise RuntimeError(f"PostgreSQL could not bind a free port after {_PORT_ATTEMPTS} attempts:\n{last_error}")


def _wait_ready(server: PostgresServer, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"postgres exited with status {process.returncode} during startup:\n{server.log_tail()}")
        try:
            with server.admin() as connection:
                connection.execute("SELECT 1")
            return
        except psycopg.OperationalError as exc:
            last_exc = exc  # not listening yet, or still recovering/starting up: keep polling until the deadline
            time.sleep(0.05)
    raise RuntimeError(
        f"postgres on 127.0.0.1:{server.port} not ready after {timeout:.0f} s (last error: {last_exc!r}):\n"
        f"{server.log_tail()}"
    )


def _terminate(process: subprocess.Popen[bytes]) -> None:
    """Fast shutdown (SIGINT: abort open transactions, disconnect, exit), then SIGKILL whatever is left."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _die_with_parent() -> None:
    # Runs in the child after it switched to `postgres` (a change of user clears the setting, so it must come
    # after): if the test process is killed (-9, CI timeout), the kernel stops the postmaster (SIGQUIT: immediate
    # shutdown, whatever clients are still connected) instead of leaving it listening forever.
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGQUIT, 0, 0, 0)
