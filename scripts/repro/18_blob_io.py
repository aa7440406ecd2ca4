#!/usr/bin/env python3
"""Incremental blob I/O (sqlite3_blob_write, Python's Connection.blobopen) and same-size blob
updates rewrite overflow pages in place, often without touching the leaf page holding the row.
agent --once + oracle after each step, sink + replica-check at the end.
usage: 18_blob_io.py [--daemon]"""
import sys, os, random
sys.path.insert(0, os.path.dirname(__file__))
from steps_lib import run_steps
rng = random.Random(5)
def bw(rowid, offset, data, table="t", col="b"):
    def f(w):
        with w.blobopen(table, col, rowid) as blob:
            blob.seek(offset); blob.write(data)
    return f
def same_size(w):
    for rid in (1, 2, 3):
        n = w.execute("SELECT length(b) FROM t WHERE id=?", (rid,)).fetchone()[0]
        w.execute("UPDATE t SET b=? WHERE id=?", (rng.randbytes(n), rid))
steps = [
 "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b BLOB)",
 "CREATE TABLE w(k TEXT PRIMARY KEY, b BLOB) WITHOUT ROWID",
 "INSERT INTO t VALUES(1, 'one', zeroblob(100000)), (2, 'two', zeroblob(5000)), (3, 'three', randomblob(300))",
 "INSERT INTO w VALUES('a', zeroblob(20000))",
 ("blob write deep in the overflow chain of row 1", [bw(1, 90000, b"\x01" * 100)]),
 ("blob write at offset 0 (local part) of row 1", [bw(1, 0, b"\x02" * 10)]),
 ("blob write spanning local/overflow boundary of row 2", [bw(2, 3900, b"\x03" * 400)]),
 ("many small blob writes in one txn", [lambda w: w.execute("BEGIN")] + [bw(1, o, bytes([o % 256])) for o in range(0, 100000, 4099)] + [lambda w: w.execute("COMMIT")]),
 ("blob write inside a row of a small blob (no overflow)", [bw(3, 5, b"zz")]),
 ("same-size blob updates", [same_size]),
 ("UPDATE with identical value (no-op rewrite)", ["UPDATE t SET b = b WHERE id = 1"]),
 ("blob write then rollback", [lambda w: w.execute("BEGIN"), bw(1, 50000, b"\x09" * 1000), lambda w: w.execute("ROLLBACK")]),
 ("WITHOUT ROWID overflow same-size update", ["UPDATE w SET b = randomblob(20000) WHERE k = 'a'"]),
 ("blob write then update other column in the same txn", [lambda w: w.execute("BEGIN"), bw(2, 100, b"\x07" * 50), lambda w: w.execute("UPDATE t SET a = 'TWO' WHERE id = 2"), lambda w: w.execute("COMMIT")]),
]
run_steps("blobio", steps, daemon="--daemon" in sys.argv)
