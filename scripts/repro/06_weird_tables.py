#!/usr/bin/env python3
"""Unusual tables: WITHOUT ROWID with DESC / NOCASE keys, INTEGER PRIMARY KEY DESC, generated
columns, STRICT, no PK, quoted/unicode names, FTS5 (shadow tables), AUTOINCREMENT, big
overflow values, NaN/-0.0/int64 extremes. agent --once after each step; the oracle after each
step, sink + replica-check at the end.
usage: 06_weird_tables.py [--pre 'PRAGMA page_size=512'] [--pre 'PRAGMA auto_vacuum=FULL'] [--daemon]"""
import sys, os, random
sys.path.insert(0, os.path.dirname(__file__))
from steps_lib import run_steps
pre = [sys.argv[i+1] for i, a in enumerate(sys.argv) if a == "--pre"]
def bulk(w):
    rng = random.Random(7)
    w.execute("BEGIN")
    for i in range(400):
        w.execute('INSERT INTO wr_desc VALUES(?,?,?)', (rng.randint(0, 10**9), "k%d" % i, rng.randbytes(rng.randint(0, 3000))))
        w.execute('INSERT OR REPLACE INTO wr_nocase VALUES(?,?)', (rng.choice(["Ab", "ab", "AB", "cd", "Cd"]) + str(i % 50), rng.random()))
        w.execute('INSERT INTO ipk_desc(id, v) VALUES(?, ?)', (i * 7 - 1000, "x" * rng.randint(0, 5000)))
    w.execute("COMMIT")
def churn(w):
    rng = random.Random(8)
    w.execute("BEGIN")
    w.execute("DELETE FROM wr_desc WHERE a % 3 = 0")
    w.execute("UPDATE wr_nocase SET v = v + 1 WHERE k LIKE 'a%'")
    w.execute("UPDATE ipk_desc SET v = substr(v, 1, 10) WHERE id % 2 = 0")
    w.execute("DELETE FROM ipk_desc WHERE id % 5 = 0")
    w.execute("COMMIT")
steps = [
 "CREATE TABLE wr_desc(a INTEGER, b TEXT, c BLOB, PRIMARY KEY(a DESC, b)) WITHOUT ROWID",
 "CREATE TABLE wr_nocase(k TEXT COLLATE NOCASE PRIMARY KEY, v) WITHOUT ROWID",
 "CREATE TABLE ipk_desc(id INTEGER PRIMARY KEY DESC, v TEXT)",
 "CREATE TABLE gen(id INTEGER PRIMARY KEY, a INT, b INT GENERATED ALWAYS AS (a*2) VIRTUAL, c TEXT GENERATED ALWAYS AS (a||'x') STORED, d TEXT)",
 "CREATE TABLE st(id INTEGER PRIMARY KEY, i INT, r REAL, t TEXT, b BLOB, a ANY) STRICT",
 "CREATE TABLE nopk(x, y)",
 'CREATE TABLE "we""ird tab le ☃"("col ""1"" é" INTEGER PRIMARY KEY, "sp ace" TEXT, "😀" BLOB)',
 "CREATE TABLE auto(id INTEGER PRIMARY KEY AUTOINCREMENT, v)",
 "CREATE VIRTUAL TABLE fts USING fts5(title, body)",
 "CREATE TABLE rowid_shadow(rowid TEXT, oid TEXT, v)",
 ("bulk inserts into keyed WITHOUT ROWID/DESC tables", [bulk]),
 ("churn", [churn]),
 "UPDATE wr_nocase SET k = lower(k) WHERE k LIKE 'A%'",
 "INSERT INTO gen(id, a, d) VALUES(1, 5, 'd'), (2, NULL, NULL)",
 "UPDATE gen SET a = 7 WHERE id = 1",
 "INSERT INTO st VALUES(1, 9223372036854775807, -0.0, 'tx', x'00', 1.5), (2, -9223372036854775808, 1e308, '', x'', 'any')",
 "INSERT INTO nopk VALUES(1, 'a'), (1, 'a'), (NULL, NULL), (0.5, x'ff')",
 "DELETE FROM nopk WHERE rowid = 2",
 ("nopk: delete then reinsert reusing rowid", ["BEGIN; DELETE FROM nopk WHERE rowid = (SELECT max(rowid) FROM nopk); INSERT INTO nopk VALUES('new', 'row'); COMMIT;"]),
 'INSERT INTO "we""ird tab le ☃" VALUES(1, \'s\', x\'01\'), (2, NULL, randomblob(20000))',
 'UPDATE "we""ird tab le ☃" SET "sp ace" = \'changed\' WHERE "col ""1"" é" = 2',
 "INSERT INTO auto(v) VALUES('a'), ('b'), ('c')",
 "DELETE FROM auto WHERE id = 3",
 "INSERT INTO auto(v) VALUES('d')",
 "INSERT INTO fts(title, body) VALUES('hello', 'world wide web'), ('sqlite', 'fts5 shadow tables')",
 "DELETE FROM fts WHERE title = 'hello'",
 "INSERT INTO rowid_shadow VALUES('r', 'o', 1), ('r2', 'o2', 2)",
 "UPDATE rowid_shadow SET v = 3 WHERE v = 1",
 "INSERT INTO st(id, t) VALUES(3, CAST(x'ff fe 41' AS TEXT))".replace("x'ff fe 41'", "x'fffe41'"),
 ("text that is not UTF-8 in a non-STRICT table and huge text", ["INSERT INTO nopk VALUES(CAST(x'c3' AS TEXT), ?)".replace("?", "'" + "y" * 100000 + "'")]),
 ("real edge values", ["INSERT INTO nopk VALUES(9e999, -9e999)", "INSERT INTO nopk VALUES(4.9e-324, -0.0)"]),
]
run_steps("weird" + ("".join(p.split("=")[-1] for p in pre)), steps, pre=pre, daemon="--daemon" in sys.argv, check_each=True)
