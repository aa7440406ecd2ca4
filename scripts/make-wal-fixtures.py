#!/usr/bin/env python3
"""Regenerates fixtures/wal/<case>/ for the CDCWAL decoder tests (issue 3, points 1 and 2).

Each case folder holds:
  db            the database file, copied while a connection still held it open
  db-wal        its write-ahead log, copied at the same moment (wal_autocheckpoint=0, so
                nothing was checkpointed unless the case says so)
  expected.json facts recorded by this script while writing, from SQLite itself and the
                file sizes it left, never from our Swift decoder:
    page_size                 PRAGMA page_size
    committed_transactions    how many write transactions the WAL (still) commits
    frames_after_commit       WAL size in frames after each commit, from the file size
                              (absent where a WAL reset makes the size meaningless)
    row_counts                after each committed transaction of the WAL, {table: count}
    checkpoint_sequence_grew  (restart case) whether the WAL was reset once
    uncommitted_frames        (rollback case) true when a rolled-back transaction left frames
    ...                       case-specific notes

Usage: python3 scripts/make-wal-fixtures.py   (stdlib only; uses the system libsqlite3)
Keep the fixtures small: the repository budget for fixtures/wal is about 2 MB.
"""
import json
import os
import random
import shutil
import sqlite3
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "wal")


class Case:
    """One fixture: a fresh WAL-mode database with checkpoints off, a commit log and counts."""

    def __init__(self, name, page_size=1024, auto_vacuum=None):
        self.name = name
        self.tmp = tempfile.mkdtemp(prefix="walfix-")
        self.path = os.path.join(self.tmp, "db")
        self.con = sqlite3.connect(self.path, isolation_level=None)
        self.con.execute(f"PRAGMA page_size={page_size}")
        if auto_vacuum:
            self.con.execute(f"PRAGMA auto_vacuum={auto_vacuum}")
        assert self.con.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
        self.con.execute("PRAGMA wal_autocheckpoint=0")
        self.page_size = page_size
        self.frames = []
        self.counts = []
        self.extra = {}

    def wal_frames(self):
        wal = self.path + "-wal"
        size = os.path.getsize(wal) if os.path.exists(wal) else 0
        return 0 if size < 32 else (size - 32) // (self.page_size + 24)

    def tables(self):
        return [r[0] for r in self.con.execute(
            "SELECT name FROM sqlite_schema WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]

    def txn(self, *statements, params=None):
        """Runs statements in one transaction and records the state after its commit."""
        self.con.execute("BEGIN IMMEDIATE")
        for s in statements:
            if params is not None:
                self.con.executemany(s, params)
            else:
                self.con.execute(s)
        self.con.execute("COMMIT")
        self.frames.append(self.wal_frames())
        self.counts.append({t: self.con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in self.tables()})

    def save(self, **extra):
        """Copies db and db-wal while the connection is open, then writes expected.json."""
        out = os.path.join(ROOT, self.name)
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        shutil.copyfile(self.path, os.path.join(out, "db"))
        shutil.copyfile(self.path + "-wal", os.path.join(out, "db-wal"))
        expected = {"page_size": self.page_size, "committed_transactions": len(self.counts),
                    "frames_after_commit": self.frames, "row_counts": self.counts}
        expected.update(self.extra)
        expected.update(extra)
        with open(os.path.join(out, "expected.json"), "w") as f:
            json.dump(expected, f, indent=1, sort_keys=True)
            f.write("\n")
        self.con.close()
        shutil.rmtree(self.tmp)
        return out


def values_table(c):
    """A table holding every storage class and every integer width, then ALTER TABLE ADD COLUMN."""
    c.txn("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, score REAL, data BLOB, n)")
    rows = [(1, "alpha", 1.5, b"\x00\x01", None), (2, "é ünïcödé ✓", -0.0, b"", 0), (3, "", 1e308, b"\xff" * 40, 1),
            (4, None, None, None, -1), (5, "x", 3.0, None, 127), (6, "y", -2.5, None, -32768), (7, "z", 0.1, None, 8388607),
            (8, "w", 5e-324, None, -2147483648), (9, "v", 2.0 ** 60, None, 1 << 40), (10, "u", -1e-300, None, -(1 << 63)),
            (-3, "negative key", 0.0, None, (1 << 63) - 1), (1 << 62, "huge key", None, b"k", 42)]
    c.txn("INSERT INTO t VALUES (?,?,?,?,?)", params=rows)
    c.txn("UPDATE t SET name = 'changed', n = n + 1 WHERE id = 5", "DELETE FROM t WHERE id = 3")
    c.txn("ALTER TABLE t ADD COLUMN extra TEXT DEFAULT 'dflt'")
    c.txn("INSERT INTO t(id, name, extra) VALUES (11, 'after alter', 'set')", "INSERT INTO t(id, name) VALUES (12, 'after alter default')")
    c.txn("CREATE TABLE plain(a, b)")  # rowid table without a declared key
    c.txn("INSERT INTO plain(rowid, a, b) VALUES (-1, 'nine-byte rowid varint', 1), (5, x'00', 2.25)")


def case_simple():
    c = Case("simple", page_size=4096)
    values_table(c)
    return c.save()


def case_page_size(size, rows):
    c = Case(f"page-size-{size}", page_size=size)
    c.txn("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, w INTEGER)")
    c.txn("INSERT INTO t(v, w) VALUES (?, ?)", params=[(f"row {i} " + "p" * (i % 50), i * 7) for i in range(rows)])
    c.txn("DELETE FROM t WHERE id % 3 = 0")
    c.txn("UPDATE t SET v = 'u' || v WHERE id % 5 = 0")
    return c.save()


def case_overflow():
    c = Case("overflow", page_size=1024)
    c.txn("CREATE TABLE big(id INTEGER PRIMARY KEY, body TEXT, raw BLOB)")
    rnd = random.Random(7)
    u = 1024
    # Payload sizes around the thresholds of §1.6 (X = U-35) as well as many times the page.
    rows = [(i, "t" * n, None) for i, n in enumerate([u - 40, u - 36, u - 35, u - 34, u - 30, u, 2 * u], start=1)]
    rows.append((20, "long text " * 1200, bytes(rnd.getrandbits(8) for _ in range(9000))))
    c.txn("INSERT INTO big VALUES (?,?,?)", params=rows)
    c.txn("UPDATE big SET body = body || body WHERE id = 20")             # grown
    c.txn("UPDATE big SET raw = x'0102', body = 'short' WHERE id = 7")    # shrunk below the threshold
    c.txn("DELETE FROM big WHERE id = 6")
    return c.save()


def case_without_rowid():
    c = Case("without-rowid", page_size=1024)
    c.txn("CREATE TABLE kv(k TEXT, part INTEGER, v BLOB, note TEXT, PRIMARY KEY(k, part)) WITHOUT ROWID")
    c.txn("INSERT INTO kv VALUES (?,?,?,?)",
          params=[(f"key{i:04d}", i % 3, bytes([i % 256]) * (i % 17), None if i % 4 else "n") for i in range(300)])
    c.txn("INSERT INTO kv VALUES ('overflowing', 1, ?, 'big')", params=[(b"\x5a" * 5000,)])
    c.txn("DELETE FROM kv WHERE part = 2", "UPDATE kv SET note = 'u' WHERE part = 1")
    c.txn("CREATE TABLE r(id INTEGER PRIMARY KEY, tag TEXT)", "CREATE INDEX r_tag ON r(tag)")
    c.txn("INSERT INTO r(tag) VALUES (?)", params=[(f"tag{i % 7}",) for i in range(50)])
    return c.save()


def case_auto_vacuum():
    c = Case("auto-vacuum-full", page_size=1024, auto_vacuum="FULL")
    c.txn("CREATE TABLE a(id INTEGER PRIMARY KEY, v TEXT)")
    c.txn("CREATE TABLE b(id INTEGER PRIMARY KEY, v BLOB)")
    c.txn("INSERT INTO a(v) VALUES (?)", params=[("a" * (i % 300),) for i in range(120)])
    c.txn("INSERT INTO b(v) VALUES (?)", params=[(b"b" * 3000,) for _ in range(4)])
    c.txn("DELETE FROM a WHERE id % 2 = 0", "DELETE FROM b WHERE id = 2")  # pages freed and moved
    c.extra["auto_vacuum"] = c.con.execute("PRAGMA auto_vacuum").fetchone()[0]
    return c.save()


def case_rolled_back():
    c = Case("rolled-back", page_size=1024)
    c.txn("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
    c.txn("INSERT INTO t(v) VALUES (?)", params=[(f"committed {i}",) for i in range(40)])
    before = c.wal_frames()
    c.con.execute("PRAGMA cache_size=2")  # force the big transaction to spill pages into the WAL
    c.con.execute("BEGIN IMMEDIATE")
    c.con.executemany("INSERT INTO t(v) VALUES (?)", [("rolled back " + "r" * 200,) for _ in range(300)])
    c.con.execute("ROLLBACK")
    spilled = c.wal_frames() > before
    assert spilled, "the rolled-back transaction did not spill frames into the WAL"
    return c.save(uncommitted_frames=spilled)


def case_truncated():
    c = Case("truncated-last-frame", page_size=1024)
    values_table(c)
    out = c.save()
    wal = os.path.join(out, "db-wal")
    size = os.path.getsize(wal)
    with open(wal, "r+b") as f:
        f.truncate(size - 1024 // 2)  # cut the last frame in the middle of its page
    fix_expected(out, lambda e: e.update(committed_transactions=e["committed_transactions"] - 1,
                                         frames_after_commit=e["frames_after_commit"][:-1],
                                         row_counts=e["row_counts"][:-1]))
    return out


def case_flipped():
    c = Case("flipped-byte", page_size=1024)
    values_table(c)
    out = c.save()
    e = load_expected(out)
    # Flip one byte in the page data of the first frame of the 3rd transaction.
    frame = e["frames_after_commit"][1]
    offset = 32 + frame * (1024 + 24) + 24 + 200
    with open(os.path.join(out, "db-wal"), "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x10]))
    fix_expected(out, lambda e: e.update(committed_transactions=2, frames_after_commit=e["frames_after_commit"][:2],
                                         row_counts=e["row_counts"][:2], flipped_offset=offset, flipped_frame=frame))
    return out


def case_restarted():
    c = Case("restarted", page_size=1024)
    c.txn("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
    c.txn("INSERT INTO t(v) VALUES (?)", params=[(f"first generation {i} " + "g" * 50,) for i in range(200)])
    c.txn("UPDATE t SET v = 'again' WHERE id % 2 = 0")
    old_frames = c.wal_frames()
    busy, log, backfilled = c.con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert busy == 0 and log == backfilled, (busy, log, backfilled)
    c.frames, c.counts = [], []
    c.txn("INSERT INTO t(v) VALUES ('second generation')")  # restarts the WAL: new salts
    c.txn("DELETE FROM t WHERE id < 10")
    assert c.wal_frames() == old_frames, "the restarted WAL should keep the old frames beyond its end"
    return c.save(frames_after_commit=None, old_generation_frames=old_frames, checkpoint_sequence_grew=True)


def load_expected(out):
    with open(os.path.join(out, "expected.json")) as f:
        return json.load(f)


def fix_expected(out, change):
    e = load_expected(out)
    change(e)
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(e, f, indent=1, sort_keys=True)
        f.write("\n")


def main():
    print("SQLite", sqlite3.sqlite_version)
    for make in [case_simple, lambda: case_page_size(512, 400), lambda: case_page_size(65536, 300), case_overflow,
                 case_without_rowid, case_auto_vacuum, case_rolled_back, case_truncated, case_flipped, case_restarted]:
        out = make()
        size = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
        print(f"{os.path.basename(out):24} {size:>9} bytes")


if __name__ == "__main__":
    main()
