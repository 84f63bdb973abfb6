"""The store's schema: its tables, their version and the migrations between versions.

`PRAGMA user_version` is the number of `MIGRATIONS` a store has had. `migrate`
applies the missing ones in order, each in its own transaction that also sets
the version, so a migration that fails leaves the store as it was. Migration 1
is `SCHEMA`, today's tables with `IF NOT EXISTS`: a store made before versions
existed (version 0, the same tables) takes it without change to its data.
`SCHEMA` never changes: a new column or table is a new migration appended to
`MIGRATIONS` (for example `ALTER TABLE trials ADD COLUMN ...`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nasc.errors import NascError

SCHEMA = """
CREATE TABLE IF NOT EXISTS experiment (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    config TEXT NOT NULL, grammar TEXT NOT NULL, created REAL NOT NULL, nasc_version TEXT
);
CREATE TABLE IF NOT EXISTS trials (
    id INTEGER PRIMARY KEY, arch TEXT NOT NULL, canon TEXT, step INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
    reward REAL, metrics TEXT, params INTEGER, macs INTEGER,
    seconds REAL, train_seconds REAL, created REAL NOT NULL, started REAL, finished REAL,
    worker TEXT, error TEXT, reused_from INTEGER, proposal TEXT
);
CREATE INDEX IF NOT EXISTS trials_canon ON trials (canon);
CREATE INDEX IF NOT EXISTS trials_status ON trials (status);
CREATE TABLE IF NOT EXISTS checkpoints (
    step INTEGER PRIMARY KEY, created REAL NOT NULL, state BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS controller_steps (
    step INTEGER PRIMARY KEY, created REAL NOT NULL, stats TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Migration:
    """Step `version - 1` -> `version` of the schema: `apply` runs inside one transaction."""

    version: int
    summary: str
    apply: Callable[[sqlite3.Connection], None] = field(repr=False)


def _create_tables(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


def _add_summary(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE trials ADD COLUMN summary TEXT")


_TRIALS_V3 = """
CREATE TABLE trials_v3 (
    id INTEGER PRIMARY KEY, arch TEXT NOT NULL, canon TEXT, step INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed', 'pruned')),
    reward REAL, metrics TEXT, params INTEGER, macs INTEGER,
    seconds REAL, train_seconds REAL, created REAL NOT NULL, started REAL, finished REAL,
    worker TEXT, error TEXT, reused_from INTEGER, proposal TEXT, summary TEXT
)"""


def _allow_pruned(conn: sqlite3.Connection) -> None:
    """SQLite cannot alter a CHECK: copy the trials into a table whose CHECK admits
    'pruned', then put it in the old one's place (with its indexes)."""
    conn.execute(_TRIALS_V3)
    conn.execute("INSERT INTO trials_v3 SELECT id, arch, canon, step, status, reward, metrics, "
                 "params, macs, seconds, train_seconds, created, started, finished, worker, "
                 "error, reused_from, proposal, summary FROM trials")
    conn.execute("DROP TABLE trials")
    conn.execute("ALTER TABLE trials_v3 RENAME TO trials")
    conn.execute("CREATE INDEX IF NOT EXISTS trials_canon ON trials (canon)")
    conn.execute("CREATE INDEX IF NOT EXISTS trials_status ON trials (status)")


# In order; never edit or remove one that has shipped, append a new one instead.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "the tables of nasc 0.1: experiment, trials, checkpoints, controller_steps "
                 "(IF NOT EXISTS: a store from before versioning keeps its own)", _create_tables),
    Migration(2, "trials.summary: a finished trial's final metrics (JSON: accuracy or "
                 "perplexity, params, macs, seconds, latency, evaluator metrics)",
              _add_summary),
    Migration(3, "trials.status may be 'pruned' (a child stopped early by --pruner): the "
                 "table is copied into one with the wider CHECK", _allow_pruned),
)
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    """The store's schema version (`PRAGMA user_version`; 0 before versioning)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def check_version(path: Path, version: int) -> None:
    """Refuse a store whose schema is newer than this code knows (one line)."""
    if version > SCHEMA_VERSION:
        from nasc import __version__

        raise NascError(f"store {path} has schema version {version}, newer than this nasc "
                        f"({__version__}) knows ({SCHEMA_VERSION}): open it with a newer nasc")


def migrate(conn: sqlite3.Connection, path: Path) -> list[Migration]:
    """Apply the migrations the store lacks, in order, each in one transaction that also
    sets its version (another process migrating at once is seen inside it); those applied."""
    check_version(path, schema_version(conn))
    applied = []
    for migration in MIGRATIONS[schema_version(conn):]:
        with transaction(conn):
            version = schema_version(conn)
            check_version(path, version)
            if version >= migration.version:
                continue
            migration.apply(conn)
            conn.execute(f"PRAGMA user_version = {int(migration.version)}")
        applied.append(migration)
    return applied


class transaction:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error) on an autocommit connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        if self.conn.in_transaction:  # left open by a Ctrl-C between BEGIN and the block
            self.conn.execute("ROLLBACK")  # (transactions never nest here): undo it whole
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
