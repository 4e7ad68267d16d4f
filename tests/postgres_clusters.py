"""Throwaway PostgreSQL clusters for tests: a primary made with initdb and a streaming replica.

Both live in one temporary directory, listen on free ports on 127.0.0.1 with trust auth, and
are stopped and deleted afterwards, so no test edits the shared server's configuration. The
server binaries refuse to run as root: as root, they run as the postgres OS user.
"""

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.processes import free_port

TIMEOUT_SECONDS = 120  # only a stuck server takes this long, even on a loaded machine
SERVER_BINARIES = ("initdb", "pg_ctl", "pg_basebackup")
INSTALL_SERVER = (
    "apt-get install -y postgresql (Debian's server package: it puts initdb, pg_ctl and "
    "pg_basebackup in /usr/lib/postgresql/<major>/bin)"
)


def _as_postgres(*command: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run a PostgreSQL binary, as the postgres user when we are root (the server refuses
    root); return the finished process, whatever its exit status."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run(
        [*prefix, *command], cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_SECONDS
    )


def _succeed(step: str, finished: subprocess.CompletedProcess, log: Path | None = None) -> None:
    """Fail the test with `step`'s output (and the server's `log`) unless it exited 0."""
    if finished.returncode != 0:
        server_log = log.read_text() if log and log.exists() else ""
        pytest.fail(f"{step} failed:\n{finished.stdout}{finished.stderr}{server_log}")


def server_binaries() -> Path:
    """Return the folder holding initdb, pg_ctl and pg_basebackup.

    Look where `pg_config --bindir` says, then in Debian's /usr/lib/postgresql/<major>/bin,
    newest first. If none has all three, fail the test saying what to install.
    """
    candidates = []
    if shutil.which("pg_config"):
        bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        candidates.append(Path(bindir.stdout.strip()))
    majors = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.parent.name.isdigit()]
    candidates += sorted(majors, key=lambda folder: int(folder.parent.name), reverse=True)
    candidates = list(dict.fromkeys(candidates))
    for folder in candidates:
        if all(os.access(folder / name, os.X_OK) for name in SERVER_BINARIES):
            return folder
    pytest.fail(
        f"This test makes its own PostgreSQL clusters and needs {', '.join(SERVER_BINARIES)}; "
        f"none of {[str(c) for c in candidates]} has them all.\nInstall them with: {INSTALL_SERVER}"
    )


@dataclass
class Cluster:
    """One running PostgreSQL server of the throwaway pair."""

    name: str
    port: int
    data: Path
    bin: Path

    @property
    def log(self) -> Path:
        return self.data.parent / f"{self.name}.log"

    def url(self, dbname: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=dbname, autocommit=True
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections; fail with its log if not."""
        started = _as_postgres(
            str(self.bin / "pg_ctl"),
            *("-D", str(self.data), "-l", str(self.log)),
            *("-w", "-t", str(TIMEOUT_SECONDS), "start"),
            cwd=self.data.parent,
        )
        _succeed(f"Starting the {self.name}", started, self.log)

    def stop(self) -> None:
        """Stop the server at once (no shutdown checkpoint); do nothing if it is not running."""
        _as_postgres(
            str(self.bin / "pg_ctl"),
            *("-D", str(self.data), "-m", "immediate", "stop"),
            cwd=self.data.parent,
        )

    def configure(self, settings: str) -> None:
        """Append `settings` to postgresql.conf (later lines win), keeping the file's owner."""
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"\n# tests/postgres_clusters.py\n{settings}")


@contextmanager
def primary_and_streaming_replica() -> Iterator[tuple[Cluster, Cluster]]:
    """Start a fresh primary and a hot-standby replica streaming from it; yield both.

    Both servers are stopped and their directory deleted on the way out, even if starting one
    or the test failed.
    """
    bin = server_binaries()
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail(f"Running as root, this test needs the postgres OS user: {INSTALL_SERVER}")
    root = Path(tempfile.mkdtemp(prefix="stockd-clusters-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    primary = Cluster("primary", free_port(), root / "primary", bin)
    replica = Cluster("replica", free_port(), root / "replica", bin)
    try:
        initdb = _as_postgres(
            str(bin / "initdb"),
            *("-D", str(primary.data), "-U", "postgres", "--auth=trust"),
            *("-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"),
            cwd=root,
        )
        _succeed("initdb", initdb)
        # wal_level=replica and max_wal_senders=10 are the defaults; fsync is off because
        # nothing here needs to survive a crash.
        primary.configure(
            f"listen_addresses = '127.0.0.1'\nport = {primary.port}\n"
            f"unix_socket_directories = '{root}'\nfsync = off\nshared_buffers = 16MB\n"
        )
        (primary.data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "host all all 127.0.0.1/32 trust\n"
            "host replication postgres 127.0.0.1/32 trust\n"
        )
        primary.start()

        # The copy takes the primary's postgresql.conf and pg_hba.conf along (initdb keeps
        # them in the data directory); -R makes it a standby of the primary.
        backup = _as_postgres(
            str(bin / "pg_basebackup"),
            *("-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"),
            *("-D", str(replica.data), "-R", "-X", "stream", "-c", "fast", "--no-sync"),
            cwd=root,
        )
        _succeed("pg_basebackup", backup, primary.log)
        replica.configure(f"port = {replica.port}\nhot_standby = on\n")
        replica.start()
        yield primary, replica
    finally:
        replica.stop()
        primary.stop()
        shutil.rmtree(root, ignore_errors=True)
