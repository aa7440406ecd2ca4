#!/usr/bin/env python3
"""Schema changes while capturing (agent --once after each step, sink, replica-check).
usage: 04_schema_changes.py [--daemon]"""
import sys, os
sys.path.insert(0, os.path.dirname(__file__))
from steps_lib import run_steps
steps = [
 "CREATE TABLE a(id INTEGER PRIMARY KEY, x TEXT, y REAL)",
 "INSERT INTO a(x,y) VALUES('one',1.5),('two',2.5),('three',NULL)",
 "ALTER TABLE a ADD COLUMN z INTEGER DEFAULT 42",
 "UPDATE a SET x='ONE' WHERE id=1",
 "INSERT INTO a(x) VALUES('four')",
 "ALTER TABLE a ADD COLUMN w TEXT DEFAULT 'dflt' NOT NULL",
 "ALTER TABLE a RENAME COLUMN x TO x2",
 "UPDATE a SET x2='renamed' WHERE id=2",
 "ALTER TABLE a DROP COLUMN y",
 "UPDATE a SET z=7 WHERE id=3",
 "ALTER TABLE a RENAME TO a_renamed",
 "INSERT INTO a_renamed(x2) VALUES('after rename')",
 "CREATE INDEX a_idx ON a_renamed(x2)",
 "DELETE FROM a_renamed WHERE id=1",
 ("table rebuild in one transaction", ["BEGIN; CREATE TABLE a_new(id INTEGER PRIMARY KEY, x2 TEXT NOT NULL DEFAULT '', z INTEGER, w TEXT); INSERT INTO a_new SELECT id, coalesce(x2,''), z, w FROM a_renamed; DROP TABLE a_renamed; ALTER TABLE a_new RENAME TO a_renamed; COMMIT;"]),
 "UPDATE a_renamed SET w='post-rebuild'",
 "CREATE TABLE b(k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID",
 "INSERT INTO b VALUES('k1', x'00ff'), ('k2', randomblob(5000))",
 "DROP TABLE b",
 "CREATE TABLE b(k INTEGER PRIMARY KEY, v TEXT)",
 "INSERT INTO b VALUES(1,'recreated')",
 ("drop and recreate same name in one txn", ["BEGIN; DROP TABLE b; CREATE TABLE b(k TEXT, v TEXT); INSERT INTO b VALUES('x','y'); COMMIT;"]),
 ("VACUUM", ["VACUUM"]),
 "INSERT INTO a_renamed(x2) VALUES('after vacuum')",
 ("ALTER ADD COLUMN then UPDATE in one txn", ["BEGIN; ALTER TABLE a_renamed ADD COLUMN extra BLOB; UPDATE a_renamed SET extra=x'01'; COMMIT;"]),
 ("rename a table to a name a dropped table had, in one txn", ["BEGIN; DROP TABLE b; ALTER TABLE a_renamed RENAME TO b; COMMIT;"]),
 "INSERT INTO b(x2) VALUES('last')",
]
run_steps("schema", steps, daemon="--daemon" in sys.argv)
