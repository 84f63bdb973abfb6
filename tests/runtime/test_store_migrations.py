"""Store schema versions, migrations, and the portable one-search-per-store lock."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import nasc
from nasc.errors import NascError
from nasc.runtime import schema
from nasc.runtime import store as store_module
from nasc.runtime.schema import MIGRATIONS, SCHEMA_VERSION, Migration
from nasc.runtime.store import Store, lock_path

# The tables exactly as nasc 0.1 wrote them, before stores had a version (copied, not
# imported: the test must notice if the code's idea of the old layout drifts).
OLD_LAYOUT = """
CREATE TABLE experiment (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    config TEXT NOT NULL, grammar TEXT NOT NULL, created REAL NOT NULL, nasc_version TEXT
);
CREATE TABLE trials (
    id INTEGER PRIMARY KEY, arch TEXT NOT NULL, canon TEXT, step INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
    reward REAL, metrics TEXT, params INTEGER, macs INTEGER,
    seconds REAL, train_seconds REAL, created REAL NOT NULL, started REAL, finished REAL,
    worker TEXT, error TEXT, reused_from INTEGER, proposal TEXT
);
CREATE INDEX trials_canon ON trials (canon);
CREATE INDEX trials_status ON trials (status);
CREATE TABLE checkpoints (step INTEGER PRIMARY KEY, created REAL NOT NULL, state BLOB NOT NULL);
"""
CONTROLLER_STEPS = ("CREATE TABLE controller_steps (step INTEGER PRIMARY KEY, "
                    "created REAL NOT NULL, stats TEXT NOT NULL);")


def old_store(path: Path, controller_steps: bool = True) -> Path:
    """A store as nasc wrote it before versioning: user_version 0, two finished trials."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(OLD_LAYOUT + (CONTROLLER_STEPS if controller_steps else ""))
    conn.execute("INSERT INTO experiment VALUES (1, ?, 'start: \"conv\"', 1.5e9, '0.1.0')",
                 (json.dumps({"space": "cnn", "trials": 2}),))
    conn.execute("INSERT INTO trials (arch, canon, step, status, reward, metrics, params, created,"
                 " proposal) VALUES ('conv 3x3 24', 'k1', 1, 'done', 0.5, ?, 1234, 1.5e9, '{}')",
                 (json.dumps([{"epoch": 1, "accuracy": 0.79}]),))
    conn.execute("INSERT INTO trials (arch, canon, step, status, reward, error, created) "
                 "VALUES ('conv 5x5 36', 'k2', 1, 'failed', 0.0, 'loss is nan', 1.5e9)")
    conn.execute("INSERT INTO checkpoints VALUES (1, 1.5e9, x'00ff')")
    conn.commit()
    assert conn.execute("PRAGMA user_version").fetchone() == (0,)
    conn.close()
    return path


def version_of(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def columns(path: Path, table: str) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
    finally:
        conn.close()


def test_migrations_are_numbered_in_order() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, SCHEMA_VERSION + 1))
    assert SCHEMA_VERSION >= 1


def test_a_new_store_has_the_current_version(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "s.db", {"a": 1}, "g")
    assert store.schema_version() == SCHEMA_VERSION
    store.close()
    assert version_of(tmp_path / "s.db") == SCHEMA_VERSION


@pytest.mark.parametrize("controller_steps", [True, False])
def test_a_store_from_before_versioning_opens_and_migrates(tmp_path: Path,
                                                           controller_steps: bool) -> None:
    path = old_store(tmp_path / "old.db", controller_steps)
    store = Store.open(path)
    assert store.schema_version() == SCHEMA_VERSION == version_of(path)
    assert store.experiment()["config"] == {"space": "cnn", "trials": 2}
    assert store.experiment()["grammar"] == 'start: "conv"'
    done, failed = store.trials()
    assert (done.arch, done.status, done.reward, done.params) == ("conv 3x3 24", "done", 0.5, 1234)
    assert done.metrics == [{"epoch": 1, "accuracy": 0.79}]
    assert (failed.status, failed.error, failed.proposal) == ("failed", "loss is nan", {})
    assert store.latest_checkpoint().state == b"\x00\xff"
    assert store.controller_steps() == []  # the table exists now, if it did not before
    (new,) = store.add_trials([("conv 1x1 48", "k3", 2, {})])  # and a resumed search can write
    assert new == 3 and store.finished_with_canon("k1") == done
    store.close()
    assert Store.open(path).trials()[0] == done  # a second open changes nothing


def test_migrations_run_in_order_each_in_a_transaction(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[int] = []

    n = SCHEMA_VERSION  # the test's migrations come after the real ones

    def add_note(conn: sqlite3.Connection) -> None:
        ran.append(n + 1)
        conn.execute("ALTER TABLE trials ADD COLUMN note TEXT")

    def fill_note(conn: sqlite3.Connection) -> None:  # needs the previous one's column
        ran.append(n + 2)
        conn.execute("UPDATE trials SET note = 'from ' || status")

    later = (*MIGRATIONS, Migration(n + 1, "trials.note", add_note),
             Migration(n + 2, "fill", fill_note))
    monkeypatch.setattr(schema, "MIGRATIONS", later)
    monkeypatch.setattr(schema, "SCHEMA_VERSION", n + 2)
    path = old_store(tmp_path / "old.db")
    Store.open(path).close()
    assert ran == [n + 1, n + 2] and version_of(path) == n + 2
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT note FROM trials ORDER BY id").fetchall() == [
        ("from done",), ("from failed",)]
    conn.close()
    Store.open(path).close()
    assert ran == [n + 1, n + 2]  # applied once


def test_a_failing_migration_leaves_the_store_as_it_was(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def half_done(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE trials ADD COLUMN note TEXT")
        conn.execute("ALTER TABLE no_such_table ADD COLUMN x TEXT")

    n = SCHEMA_VERSION
    monkeypatch.setattr(schema, "MIGRATIONS", (*MIGRATIONS, Migration(n + 1, "bad", half_done)))
    monkeypatch.setattr(schema, "SCHEMA_VERSION", n + 1)
    path = old_store(tmp_path / "old.db")
    with pytest.raises(NascError, match="no such table: no_such_table"):
        Store.open(path)
    assert version_of(path) == n  # the real ones committed, the bad one rolled back whole
    assert "note" not in columns(path, "trials")


@pytest.mark.parametrize("readonly", [False, True])
def test_a_store_from_a_newer_nasc_is_refused_untouched(tmp_path: Path, readonly: bool) -> None:
    path = tmp_path / "new.db"
    Store.create(path, {}, "").close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.execute("PRAGMA journal_mode=DELETE")  # one file, so its bytes say it all
    conn.close()
    before = path.read_bytes()
    with pytest.raises(NascError) as info:
        Store.open(path, readonly=readonly)
    assert str(info.value) == (f"store {path} has schema version {SCHEMA_VERSION + 5}, newer than "
                               f"this nasc ({nasc.__version__}) knows ({SCHEMA_VERSION}): open it with a newer nasc")
    assert path.read_bytes() == before and not Path(f"{path}-wal").exists()


def test_an_old_store_on_a_read_only_disk_is_read_as_it_is(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = old_store(tmp_path / "old.db")

    def read_only_disk(path: Path) -> sqlite3.Connection:
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(Store, "_connect", staticmethod(read_only_disk))
    store = Store.open(path, readonly=True)  # as report and export open it
    assert [t.arch for t in store.trials()] == ["conv 3x3 24", "conv 5x5 36"]
    assert store.schema_version() == 0
    store.close()
    with pytest.raises(NascError, match="readonly"):
        Store.open(path)  # a search cannot use it


# --- the lock --------------------------------------------------------------------------------

def test_one_search_holds_a_store_until_it_closes(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    first = Store.create(path, {}, "")
    first.lock()
    first.lock()  # holding it already is fine
    second = Store.open(path)
    with pytest.raises(NascError, match=f"store {path} is in use by another running search"):
        second.lock()
    reader = Store.open(path, readonly=True)  # report and export need no lock
    assert reader.trials() == [] and reader.experiment()["config"] == {}
    reader.close()
    assert lock_path(path) == tmp_path / "s.db.lock" and lock_path(path).exists()
    first.close()
    second.lock()  # free once the first search ended
    second.close()


def test_the_lock_dies_with_its_process(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    Store.create(path, {}, "").close()
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from nasc.runtime.store import Store
            store = Store.open({str(path)!r})
            store.lock()
            print("locked", flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with pytest.raises(NascError, match="in use by another running search"):
            Store.open(path).lock()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        holder.stdout.close()  # type: ignore[union-attr]
    store = Store.open(path)
    store.lock()  # SIGKILL released it
    store.close()


def test_discard_removes_the_lock_file_too(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "s.db", {}, "")
    store.lock()
    store.discard()
    assert list(tmp_path.iterdir()) == []


def test_the_store_imports_and_reads_without_fcntl(tmp_path: Path) -> None:
    path = old_store(tmp_path / "old.db")
    script = textwrap.dedent(f"""
        import sys
        sys.modules["fcntl"] = None  # as on Windows: importing fcntl fails
        from nasc.runtime.store import Store
        store = Store.open({str(path)!r}, readonly=True)
        print(len(store.trials()), store.schema_version())
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["2", str(SCHEMA_VERSION)]


def test_a_lock_file_that_cannot_be_made_is_one_line(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    class Unwritable:
        def acquire(self, timeout: float) -> None:
            raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(store_module, "_file_lock", lambda path: Unwritable())
    store = Store.create(tmp_path / "s.db", {}, "")
    with pytest.raises(NascError) as info:
        store.lock()
    assert str(info.value) == (f"store {tmp_path / 's.db'}: cannot lock it through "
                               f"{tmp_path / 's.db.lock'} (Permission denied)")
    store.close()
