"""A throwaway PostgreSQL + PostGIS cluster for the tests (no Docker).

:func:`cluster` runs ``initdb`` into a temporary directory and starts the
server with ``pg_ctl`` on a free port of 127.0.0.1, as pytest-postgresql
does. PostgreSQL refuses to run as root, and CI runs as root: then the
server runs as the ``postgres`` system user (``runuser``). The cluster
trusts local connections on 127.0.0.1 except for the role ``gridservice``,
which logs in with a password (so the tests can check it is never shown).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: Where Debian puts the server binaries (``postgresql-15``); ``pg_config --bindir`` finds others.
_BINDIRS = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin")
PASSWORD = "s3cret-Ω-pw"


@dataclass(frozen=True)
class Cluster:
    """A running cluster: ``url(db, area)`` names a database on it as gridservice's ``--data`` does."""

    host: str
    port: int
    bindir: Path
    datadir: Path
    user: str | None  # the system user the server runs as (None: this one)

    def url(self, db: str = "gridservice", area: str | None = None, *, password: bool = True) -> str:
        auth = f"gridservice:{PASSWORD}" if password else "gridservice"
        query = f"?area={area}" if area else ""
        return f"postgresql://{auth}@{self.host}:{self.port}/{db}{query}"

    def sql(self, statement: str, *, db: str = "postgres") -> str:
        """Run SQL as the superuser through psql; returns its output."""
        out = subprocess.run(
            [str(self.bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", self.host,
             "-p", str(self.port), "-U", "postgres", "-d", db, "-c", statement],
            check=True, capture_output=True, text=True, env={**os.environ, "PGPASSWORD": ""})
        return out.stdout.strip()

    def pg_ctl(self, *args: str) -> None:
        run_as(self.user, [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-w", "-t", "60", *args])

    def create_database(self, db: str) -> None:
        """A new database with PostGIS, owned by the role ``gridservice``."""
        self.sql(f'CREATE DATABASE "{db}" OWNER gridservice')
        self.sql("CREATE EXTENSION IF NOT EXISTS postgis", db=db)


def bindir() -> Path | None:
    """The server binaries with PostGIS installed, or ``None``."""
    candidates = [Path(d) for d in _BINDIRS]
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        candidates.insert(0, Path(out))
    for d in candidates:
        share = subprocess.run([str(d / "pg_config"), "--sharedir"], capture_output=True, text=True,
                               check=False).stdout.strip() if (d / "pg_config").exists() else ""
        ext = Path(share or f"/usr/share/postgresql/{d.parent.name}") / "extension" / "postgis.control"
        if (d / "initdb").exists() and ext.exists():
            return d
    return None


def run_as(user: str | None, cmd: list[str]) -> None:
    full = ["runuser", "-u", user, "--", *cmd] if user else cmd
    subprocess.run(full, check=True, capture_output=True, text=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def cluster() -> Iterator[Cluster]:
    """Start a cluster in a temporary directory; stop and remove it afterwards."""
    found = bindir()
    if found is None:
        msg = "PostgreSQL with PostGIS is not installed (scripts/install-test-deps installs postgresql-15-postgis-3)"
        raise FileNotFoundError(msg)
    user = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="gridservice-pg-"))
    datadir = root / "data"
    try:
        if user:
            os.chmod(root, 0o755)
            shutil.chown(root, user)
        run_as(user, [str(found / "initdb"), "-D", str(datadir), "-U", "postgres", "-A", "trust",
                      "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
        hba = datadir / "pg_hba.conf"
        lines = ["host all gridservice 127.0.0.1/32 scram-sha-256", "host all all 127.0.0.1/32 trust",
                 "local all all trust"]
        hba.write_text("\n".join(lines) + "\n")
        port = free_port()
        conf = {"listen_addresses": "'127.0.0.1'", "port": str(port), "unix_socket_directories": f"'{root}'",
                "fsync": "off", "full_page_writes": "off",  # a killed server loses nothing; only an OS crash would
                "max_connections": "200", "shared_buffers": "64MB"}
        with open(datadir / "postgresql.conf", "a") as fh:
            fh.writelines(f"{k} = {v}\n" for k, v in conf.items())
        c = Cluster("127.0.0.1", port, found, datadir, user)
        c.pg_ctl("-l", str(root / "server.log"), "start")
        try:
            c.sql(f"CREATE ROLE gridservice LOGIN PASSWORD '{PASSWORD}'")
            c.create_database("gridservice")
            yield c
        finally:
            c.pg_ctl("-m", "immediate", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)
