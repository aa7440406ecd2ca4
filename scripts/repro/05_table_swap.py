#!/usr/bin/env python3
"""Table-level schema changes in WAL mode lose or corrupt rows without any resync.
 A) rename-swap migration done in two transactions: copy into t_new (txn 1), then
    "DROP TABLE t; ALTER TABLE t_new RENAME TO t" (txn 2)
 B) DROP TABLE t, later CREATE TABLE t again (same schema), insert one row
 C) ALTER TABLE t RENAME TO t2 (no row change)
Each: agent --once after every step, then cdc-sink and replica-check and the oracle.
usage: 05_table_swap.py [A|B|C]..."""
import sys, os
sys.path.insert(0, os.path.dirname(__file__))
from steps_lib import run_steps
import oracle
cases = {
 "A": [
   "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)",
   "INSERT INTO t(v) VALUES('a'),('b'),('c')",
   ("copy into t_new", ["BEGIN; CREATE TABLE t_new(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t_new SELECT id, upper(v) FROM t; COMMIT;"]),
   ("swap: DROP TABLE t; ALTER TABLE t_new RENAME TO t", ["BEGIN; DROP TABLE t; ALTER TABLE t_new RENAME TO t; COMMIT;"]),
 ],
 "B": [
   "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)",
   "INSERT INTO t(v) VALUES('a'),('b'),('c')",
   "DROP TABLE t",
   "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)",
   "INSERT INTO t(v) VALUES('only row')",
 ],
 "C": [
   "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)",
   "INSERT INTO t(v) VALUES('a'),('b'),('c')",
   "ALTER TABLE t RENAME TO t2",
   "INSERT INTO t2(v) VALUES('d')",
 ],
}
os.environ.setdefault("CHECK", "sink")
for name in (sys.argv[1:] or list(cases)):
    print(f"\n======== case {name}")
    run_steps(f"swap{name}", cases[name], check_each=False)
    d = sorted((os.path.join("/tmp", x) for x in os.listdir("/tmp") if x.startswith(f"walbreak-swap{name}-")), key=os.path.getmtime)[-1]
    oracle.compare(f"{d}/events.db", f"{d}/src.db")
