#!/usr/bin/env python3
"""auto_vacuum FULL / INCREMENTAL: DROP TABLE relocates other tables' root pages; incremental_vacuum
moves pages; VACUUM rewrites everything. agent --once + oracle after each step.
usage: 07_vacuum.py FULL|INCREMENTAL [--daemon]"""
import sys, os, random
sys.path.insert(0, os.path.dirname(__file__))
from steps_lib import run_steps
mode = sys.argv[1] if len(sys.argv) > 1 else "FULL"
def fill(w):
    rng = random.Random(3)
    w.execute("BEGIN")
    for t in ("t1", "t2", "t3", "t4"):
        for i in range(300):
            w.execute(f"INSERT INTO {t}(v, b) VALUES(?, ?)", ("v%d" % i, rng.randbytes(rng.randint(10, 3000))))
    w.execute("COMMIT")
steps = [
 "CREATE TABLE t1(id INTEGER PRIMARY KEY, v TEXT, b BLOB)",
 "CREATE TABLE t2(id INTEGER PRIMARY KEY, v TEXT, b BLOB)",
 "CREATE INDEX t2_v ON t2(v)",
 "CREATE TABLE t3(v TEXT PRIMARY KEY, id INT, b BLOB) WITHOUT ROWID",
 "CREATE TABLE t4(id INTEGER PRIMARY KEY, v TEXT, b BLOB)",
 ("fill", [fill]),
 "DELETE FROM t1 WHERE id % 2 = 0",
 "DROP TABLE t1",
 "UPDATE t4 SET v = 'after drop' WHERE id < 20",
 "DELETE FROM t2 WHERE id > 100",
 "PRAGMA incremental_vacuum(50)",
 "UPDATE t3 SET b = x'01' WHERE id IS NULL OR v < 'v2'",
 "DROP INDEX t2_v",
 "INSERT INTO t2(v, b) VALUES('new', randomblob(10000))",
 "PRAGMA incremental_vacuum",
 "UPDATE t2 SET v = 'x' || v",
 ("VACUUM", ["VACUUM"]),
 "DELETE FROM t4 WHERE id % 3 = 0",
 ("VACUUM INTO-style churn: delete most rows then incremental vacuum", ["DELETE FROM t3 WHERE v > 'v1'", "PRAGMA incremental_vacuum"]),
 "INSERT INTO t4(v, b) VALUES('end', zeroblob(70000))",
]
run_steps("vacuum" + mode, steps, pre=[f"PRAGMA auto_vacuum={mode}"], daemon="--daemon" in sys.argv)
