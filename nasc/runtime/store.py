"""The durable store of a search: one SQLite file (WAL, one transaction per write).

Tables
    experiment   one row: the configuration (JSON), the exact grammar text, times
    trials       one row per trial: arch, canonical form, controller step, status
                 (pending | running | done | failed | pruned), reward, per-epoch metrics
                 (JSON), params, MACs, timings, worker, error, reused_from
    checkpoints  the controller's state after an update (bytes); only the latest
                 KEEP_CHECKPOINTS are kept, so a long search's file stays small
    controller_steps  one row per controller update: its statistics (JSON: loss,
                 baseline, mean reward, entropy, ...), kept for the whole search

`Store.create(path, config, grammar)` refuses an existing file; `Store.open(path)`
reopens one (for `--resume` and `nasc report`). `reset_unfinished()` turns
running trials back into pending ones, so a resumed search re-runs exactly the
trials that never finished and keeps every finished one.

Schema versions (`nasc.runtime.schema`): opening a store applies the migrations
it lacks, each in its own transaction, so a store made by an older nasc (one
from before versioning included) opens; one from a newer nasc is refused.

`lock()` holds `STORE.lock` (through `filelock`: `flock` on Unix, `msvcrt` on
Windows, released when the process ends, even by SIGKILL) so that one search
at a time writes a store; the empty lock file stays beside the store.
"""

from __future__ import annotations

import io
import json
import sqlite3
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nasc.errors import NascError
from nasc.runtime.schema import (  # noqa: F401  (SCHEMA, MIGRATIONS: re-exported)
    MIGRATIONS,
    SCHEMA,
    SCHEMA_VERSION,
    check_version,
    migrate,
    schema_version,
)
from nasc.runtime.schema import transaction as _tx

FINISHED = ("done", "failed", "pruned")
KEEP_CHECKPOINTS = 2  # the latest is what --resume needs; one more in reserve


@dataclass
class Checkpoint:
    """The state of a strategy after controller update `step`, and that update's statistics."""

    step: int
    state: bytes
    stats: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Checkpoint(step={self.step}, {len(self.state):,} bytes)"


@dataclass
class Trial:
    """One row of `trials`."""

    id: int
    arch: str
    step: int
    status: str = "pending"
    canon: str | None = None
    reward: float | None = None
    metrics: list[dict[str, Any]] = field(default_factory=list)
    params: int | None = None
    macs: int | None = None
    seconds: float | None = None
    train_seconds: float | None = None
    created: float = 0.0
    started: float | None = None
    finished: float | None = None
    worker: str | None = None
    error: str | None = None
    reused_from: int | None = None
    proposal: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, float] = field(default_factory=dict)  # final metrics (scores.py)

    def __repr__(self) -> str:
        return f"Trial(#{self.id} {self.status} reward={self.reward} {self.arch!r})"

    @property
    def finished_ok(self) -> bool:
        return self.status == "done"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "arch": self.arch, "status": self.status, "reward": self.reward,
                "params": self.params, "macs": self.macs, "seconds": self.seconds,
                "error": self.error, "step": self.step, "canon": self.canon,
                "reused_from": self.reused_from, "metrics": self.metrics,
                "worker": self.worker, "summary": self.summary}


_COLUMNS = ("id", "arch", "canon", "step", "status", "reward", "metrics", "params", "macs",
            "seconds", "train_seconds", "created", "started", "finished", "worker", "error",
            "reused_from", "proposal", "summary")


def _trial(row: sqlite3.Row) -> Trial:
    values = dict(zip(_COLUMNS, row, strict=False))  # a read-only old store: no summary
    values["metrics"] = json.loads(values["metrics"] or "[]")
    values["proposal"] = json.loads(values["proposal"] or "{}")
    values["summary"] = json.loads(values.get("summary") or "{}")
    return Trial(**values)


def pack_state(header: dict[str, Any], body: bytes, rng: bytes) -> bytes:
    """A checkpoint's bytes: a JSON header, the controller file, the sampler's RNG state,
    each prefixed by its length."""
    parts = (json.dumps(header).encode(), body, rng)
    return b"".join(struct.pack(">Q", len(part)) + part for part in parts)


def unpack_state(blob: bytes) -> tuple[dict[str, Any], bytes, bytes]:
    """The parts `pack_state` joined."""
    parts, stream = [], io.BytesIO(blob)
    for _ in range(3):
        (size,) = struct.unpack(">Q", stream.read(8))
        parts.append(stream.read(size))
    header, body, rng = parts
    return json.loads(header), body, rng


def is_sqlite(path: Path) -> bool:
    """Whether `path` is an existing SQLite file (read without opening it as a database)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(16) == b"SQLite format 3\0"
    except OSError:
        return False


def _probe(path: Path) -> None:
    """Refuse a file that is not a nasc store, or one of a newer schema than this code
    knows, without writing to it (no WAL switch)."""
    if not is_sqlite(path):
        raise NascError(f"{path} is not a nasc store (not a SQLite file)")
    try:
        conn = _read_only(path)
        try:
            found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                                 "AND name = 'experiment'").fetchone()
            version = schema_version(conn)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise NascError(f"{path} is not a nasc store ({exc})") from None
    if found is None:
        raise NascError(f"{path} is not a nasc store (a SQLite file without nasc's tables)")
    check_version(path, version)


def _read_only(path: Path) -> sqlite3.Connection:
    """A connection that never writes; on a read-only disk a WAL file is opened immutable."""
    uri = f"{path.absolute().as_uri()}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError as exc:
        conn.close()
        if "readonly" not in str(exc) and "unable to open" not in str(exc):
            raise
    return sqlite3.connect(uri + "&immutable=1", uri=True, isolation_level=None)


class Store:
    """A search's SQLite file; every method is one transaction."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn
        self._lock: Any = None  # a held filelock.FileLock on `lock_path(path)`
        self._select: str | None = None  # the trial columns to read

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    @classmethod
    def create(cls, path: str | Path, config: dict[str, Any], grammar: str) -> Store:
        """A new store; an existing file is an error (resume it or choose another path)."""
        path = Path(path)
        if path.exists():
            raise NascError(f"store {path} already exists: pass --resume to continue it, "
                            f"or choose another --store")
        from nasc import __version__

        conn = cls._connect(path)
        migrate(conn, path)
        with _tx(conn):
            conn.execute("INSERT INTO experiment VALUES (1, ?, ?, ?, ?)",
                         (json.dumps(config, sort_keys=True), grammar, time.time(), __version__))
        return cls(path, conn)

    @classmethod
    def open(cls, path: str | Path, readonly: bool = False) -> Store:
        """An existing store (for --resume; `readonly` for reports, which also read a store
        on a read-only disk)."""
        path = Path(path)
        if not path.is_file():
            raise NascError(f"store {path} does not exist")
        _probe(path)  # read-only: a file that is not a store is left exactly as it was
        try:
            conn = cls._connect(path)
            conn.execute("SELECT config FROM experiment").fetchone()
            migrate(conn, path)  # schema changes made since the store was
        except sqlite3.OperationalError as exc:
            if not readonly or "readonly" not in str(exc):
                raise NascError(f"store {path}: {exc}") from None
            conn = _read_only(path)
        except sqlite3.DatabaseError as exc:
            raise NascError(f"{path} is not a nasc store ({exc})") from None
        return cls(path, conn)

    def lock(self) -> None:
        """Hold this store for one search until `close()`; a second search is refused."""
        if self._lock is not None:
            return
        import filelock

        held = _file_lock(lock_path(self.path))
        try:
            held.acquire(timeout=0)
        except filelock.Timeout:
            raise NascError(f"store {self.path} is in use by another running search: "
                            f"wait for it to end (or stop it) before resuming") from None
        except OSError as exc:
            raise NascError(f"store {self.path}: cannot lock it through "
                            f"{lock_path(self.path)} ({exc.strerror or exc})") from None
        self._lock = held

    def close(self) -> None:
        self.conn.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def discard(self) -> None:
        """Close and delete this store's files (the search that made it never started)."""
        self.close()
        for suffix in ("", "-wal", "-shm", "-journal", ".lock"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def _columns(self) -> str:
        """The trial columns this store has (an old store on a read-only disk lacks later ones)."""
        if self._select is None:
            have = {row[1] for row in self.conn.execute("PRAGMA table_info(trials)")}
            self._select = ", ".join(c for c in _COLUMNS if c in have)
        return self._select

    def schema_version(self) -> int:
        """This store's schema version (`SCHEMA_VERSION` once opened on a writable disk)."""
        return schema_version(self.conn)

    # --- experiment ---------------------------------------------------------
    def experiment(self) -> dict[str, Any]:
        row = self.conn.execute(
            "SELECT config, grammar, created, nasc_version FROM experiment").fetchone()
        if row is None:
            raise NascError(f"{self.path} has no experiment")
        return {"config": json.loads(row[0]), "grammar": row[1], "created": row[2],
                "nasc_version": row[3]}

    # --- trials -------------------------------------------------------------
    def add_trials(self, items: Sequence[tuple[str, str | None, int, dict[str, Any]]]) -> list[int]:
        """Insert pending trials (arch, canon, step, proposal) in one transaction; their ids."""
        now, ids = time.time(), []
        with _tx(self.conn):
            for arch, canon, step, proposal in items:
                cur = self.conn.execute(
                    "INSERT INTO trials (arch, canon, step, status, created, proposal) "
                    "VALUES (?, ?, ?, 'pending', ?, ?)",
                    (arch, canon, step, now, json.dumps(proposal)))
                ids.append(int(cur.lastrowid or 0))
        return ids

    def mark_running(self, trial_id: int, worker: str) -> None:
        with _tx(self.conn):
            self.conn.execute("UPDATE trials SET status='running', started=?, worker=? "
                              "WHERE id=? AND status='pending'", (time.time(), worker, trial_id))

    def finish(self, trial_id: int, result: dict[str, Any]) -> bool:
        """Record a result; False (and nothing written) if the trial had already finished."""
        with _tx(self.conn):
            cur = self.conn.execute(
                "UPDATE trials SET status=?, reward=?, metrics=?, params=?, macs=?, seconds=?, "
                "train_seconds=?, finished=?, worker=COALESCE(?, worker), error=?, "
                "reused_from=?, summary=? WHERE id=? "
                "AND status NOT IN ('done', 'failed', 'pruned')",
                (result["status"], result.get("reward"), json.dumps(result.get("metrics", [])),
                 result.get("params"), result.get("macs"), result.get("seconds"),
                 result.get("train_seconds"), time.time(), result.get("worker"),
                 result.get("error"), result.get("reused_from"),
                 json.dumps(result.get("summary") or {}), trial_id))
            return cur.rowcount == 1

    def reset_unfinished(self) -> int:
        """Running trials (of a killed search) become pending again; how many."""
        with _tx(self.conn):
            cur = self.conn.execute("UPDATE trials SET status='pending', started=NULL, "
                                    "worker=NULL WHERE status='running'")
            return cur.rowcount

    def trials(self, status: str | None = None) -> list[Trial]:
        query = f"SELECT {self._columns()} FROM trials"
        if status is not None:
            return [_trial(r) for r in self.conn.execute(query + " WHERE status=? ORDER BY id",
                                                         (status,))]
        return [_trial(r) for r in self.conn.execute(query + " ORDER BY id")]

    def trial(self, trial_id: int) -> Trial:
        row = self.conn.execute(f"SELECT {self._columns()} FROM trials WHERE id=?",
                                (trial_id,)).fetchone()
        if row is None:
            raise NascError(f"{self.path}: no trial {trial_id}")
        return _trial(row)

    def counts(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT status, COUNT(*) FROM trials GROUP BY status")
        out = {s: 0 for s in ("pending", "running", "done", "failed", "pruned")}
        out.update({s: int(n) for s, n in rows})
        return out

    def finished_with_canon(self, canon: str) -> Trial | None:
        """The first trained (not reused) trial of canonical form `canon` whose result holds
        for any duplicate: done, or failed for a reason of the architecture itself (not a
        dead worker or an exceeded time limit, which may go otherwise another time)."""
        row = self.conn.execute(
            f"SELECT {self._columns()} FROM trials WHERE canon=? AND reused_from IS NULL "
            f"AND (status='done' OR (status='failed' AND error NOT LIKE 'worker process%' "
            f"AND error NOT LIKE 'over the time limit%' AND error NOT LIKE 'ray task%')) "
            f"ORDER BY id LIMIT 1", (canon,)).fetchone()
        return None if row is None else _trial(row)

    def canon_archs(self) -> dict[str, str]:
        """Each canonical form seen so far and one architecture of it (for collision checks)."""
        rows = self.conn.execute("SELECT canon, MIN(id), arch FROM trials WHERE canon IS NOT NULL "
                                 "GROUP BY canon")
        return {c: a for c, _, a in rows}

    # --- checkpoints ----------------------------------------------------------
    def save_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Add `checkpoint` and its statistics; drop checkpoints older than the kept ones."""
        now, step = time.time(), checkpoint.step
        with _tx(self.conn):
            self.conn.execute("INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?)",
                              (step, now, checkpoint.state))
            self.conn.execute("INSERT OR REPLACE INTO controller_steps VALUES (?, ?, ?)",
                              (step, now, json.dumps(checkpoint.stats)))
            self.conn.execute("DELETE FROM checkpoints WHERE step <= ?",
                              (step - KEEP_CHECKPOINTS,))

    def latest_checkpoint(self) -> Checkpoint | None:
        row = self.conn.execute(
            "SELECT step, state FROM checkpoints ORDER BY step DESC LIMIT 1").fetchone()
        if row is None:
            return None
        stats = self.conn.execute("SELECT stats FROM controller_steps WHERE step = ?",
                                  (row[0],)).fetchone()
        return Checkpoint(int(row[0]), bytes(row[1]), json.loads(stats[0]) if stats else {})

    def controller_steps(self) -> list[dict[str, Any]]:
        """Every controller update's statistics, in order: [{"step", ...stats}]."""
        rows = self.conn.execute("SELECT step, stats FROM controller_steps ORDER BY step")
        return [{"step": int(step), **json.loads(stats)} for step, stats in rows]


def lock_path(path: str | Path) -> Path:
    """The file whose lock marks a store as held by a running search: `STORE.lock`."""
    return Path(f"{path}.lock")


def _file_lock(path: Path) -> Any:
    """A non-reentrant-across-threads `filelock.FileLock` on `path` (any filelock >= 3.0)."""
    import filelock

    try:  # released by whichever thread closes the store (filelock >= 3.12 is thread-local)
        return filelock.FileLock(str(path), timeout=0, thread_local=False)
    except TypeError:  # older filelock: no thread_local, and not thread-local either
        return filelock.FileLock(str(path), timeout=0)
