#!/usr/bin/env python3
"""(1) A --once run after a run that saw no WAL (e.g. after a TRUNCATE checkpoint, or the service
closed) runs a full resync epoch even though nothing was checkpointed (nBackfill 0).
(2) Every agent start (each --once run, each daemon restart) walks every b-tree of the source,
overflow chains included, to build its page-ownership map: start-up cost O(database size) even
when one row changed. Measures wall time and bytes read (rchar) of a --once run that captures a
single-row change, for a database of MB megabytes of blobs plus many small rows.
usage: 21_restart_reads_whole_db.py [MB]"""
import sys, os, time, sqlite3, subprocess, threading
sys.path.insert(0, os.path.dirname(__file__))
from lib import *
mb = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
d = workdir("startcost")
db, log = f"{d}/src.db", f"{d}/events.db"
w = new_source(db, wal_autocheckpoint=0)
w.execute("CREATE TABLE big(id INTEGER PRIMARY KEY, b BLOB)")
w.execute("CREATE TABLE small(id INTEGER PRIMARY KEY, v TEXT)")
w.execute("BEGIN")
for i in range(mb): w.execute("INSERT INTO big(b) VALUES(randomblob(1048576))")
w.executemany("INSERT INTO small(v) VALUES(?)", ((f"row{i}",) for i in range(200000)))
w.execute("COMMIT"); w.execute("PRAGMA wal_checkpoint(TRUNCATE)")
print(f"database {os.path.getsize(db)/1e6:.0f} MB")
agent_once(db, log)
def measured(label):
    p = subprocess.Popen([AGENT, "run", "--db", db, "--log", log, "--mode", "wal", "--once"], stderr=subprocess.PIPE, text=True)
    rchar = 0; t0 = time.time()
    while p.poll() is None:
        try: rchar = int([l for l in open(f"/proc/{p.pid}/io") if l.startswith("rchar")][0].split()[1])
        except Exception: pass
        time.sleep(0.02)
    err = p.stderr.read().strip().splitlines()
    for l in err:
        if "warning" in l: print("   agent:", l.split("src.db: ")[-1])
    print(f"{label}: {time.time()-t0:.2f}s, read >= {rchar/1e6:.0f} MB, rc {p.returncode}: {err[-1][:150] if err else ''}")
w.execute("UPDATE small SET v = 'changed' WHERE id = 1")
measured("--once capturing ONE changed row")
w.execute("UPDATE small SET v = 'changed again' WHERE id = 2")
measured("--once capturing ONE changed row (again)")
