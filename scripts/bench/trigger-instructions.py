#!/usr/bin/env python3
"""Instruction counts of the change-table trigger, for docs/benchmarks.md.

Inserts 20,000 rows of the benchmark's customers shape in one transaction, with one of
several trigger variants installed, through Python's sqlite3 module (the system library).
Run it under callgrind, counting only inside sqlite3_step, so Python's own work is left out:

    PY=$(python3 -c 'import sys; print(sys.executable)')
    for v in none select1 autoincrement after-only current; do
      valgrind --tool=callgrind --toggle-collect=sqlite3_step --callgrind-out-file=/tmp/cg.$v \\
        "$PY" scripts/bench/trigger-instructions.py $v /tmp/trigger-$v.db 2>&1 | grep Collected
    done

The trigger SQL mirrors Sources/CDCCapture/ChangeTableLayout.swift's insert trigger; the
variants differ in one thing each, so the differences attribute the cost.
"""
import os
import sys

import sqlite3

variant, path = sys.argv[1], sys.argv[2]
for suffix in ("", "-wal", "-shm"):
    try:
        os.remove(path + suffix)
    except FileNotFoundError:
        pass

c = sqlite3.connect(path, isolation_level=None)
c.execute("PRAGMA journal_mode=WAL")
c.execute("""CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE, balance REAL NOT NULL DEFAULT 0, avatar BLOB,
    created_at TEXT NOT NULL)""")

width = 6
names = ["id", "name", "email", "balance", "avatar", "created_at"]
seq = "seq INTEGER PRIMARY KEY AUTOINCREMENT" if variant == "autoincrement" else "seq INTEGER PRIMARY KEY"
columns = [seq, "tbl INTEGER NOT NULL", "gen INTEGER NOT NULL", "op INTEGER NOT NULL",
           "ts_jd REAL NOT NULL", "rk_old", "rk"]
if variant != "after-only":
    columns += [f"b{i}" for i in range(width)]
columns += [f"a{i}" for i in range(width)]
after = ", ".join(f"a{i}" for i in range(width))
new = ", ".join("NEW." + n for n in names)
body = {
    "none": None,
    "select1": "SELECT 1;",
    "autoincrement": f"INSERT INTO _cdc_changes(tbl, gen, op, ts_jd, {after}) VALUES (1, 1, 1, julianday(), {new});",
    "after-only": f"INSERT INTO _cdc_changes(tbl, gen, op, ts_jd, {after}) VALUES (1, 1, 1, julianday(), {new});",
    "current": f"INSERT INTO _cdc_changes(tbl, gen, op, ts_jd, {after}) VALUES (1, 1, 1, julianday(), {new});",
}[variant]
if body is not None:
    c.execute(f"CREATE TABLE _cdc_changes({', '.join(columns)})")
    c.execute(f"CREATE TRIGGER _cdc_1_ins_1 AFTER INSERT ON customers FOR EACH ROW BEGIN {body} END")

rows = [(i, f"name {i}", f"user{i}@example.com", i * 1.5, (bytes(16) if i % 2 else None),
         "2026-01-01T00:00:00Z") for i in range(1, 20_001)]
c.execute("BEGIN")
c.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?)", rows)
c.execute("COMMIT")
