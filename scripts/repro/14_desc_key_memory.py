#!/usr/bin/env python3
"""A WITHOUT ROWID table with a DESC key: a transaction touching more than 4,096 pages makes the
decoder fall back to an in-memory comparison of the whole table, before and after (memory
O(table), promise 7). Measures agent VmHWM for a table of N rows, one UPDATE of every row.
usage: 14_desc_key_memory.py [N]"""
import sys, os, time, sqlite3
sys.path.insert(0, os.path.dirname(__file__))
from lib import *
n = int(sys.argv[1]) if len(sys.argv) > 1 else 300000
for desc in ("ASC", "DESC"):
    d = workdir("desc" + desc)
    db, log, rep = f"{d}/src.db", f"{d}/events.db", f"{d}/replica.db"
    w = new_source(db, wal_autocheckpoint=0)
    w.execute(f"CREATE TABLE t(k INTEGER, s TEXT, v TEXT, PRIMARY KEY(k {desc}, s)) WITHOUT ROWID")
    w.execute("BEGIN"); w.executemany("INSERT INTO t VALUES(?, ?, ?)", ((i, f"s{i}", "v" * 40) for i in range(n))); w.execute("COMMIT")
    w.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    agent = start_agent(db, log); time.sleep(3)
    print(desc, "VmHWM after initial snapshot:", vmhwm(agent.pid))
    t0 = time.time()
    w.execute("UPDATE t SET v = 'w' || substr(v, 2) WHERE k % 10 = 0")
    for _ in range(600):
        time.sleep(0.5)
        try:
            c = sqlite3.connect(f"file:{log}?mode=ro", uri=True)
            if (c.execute("SELECT max(lsn) FROM cdc_events").fetchone()[0] or 0) >= n + 2 + n // 10: break
        except sqlite3.OperationalError: pass
        if agent.poll() is not None: break
    print(desc, f"captured the {n//10}-row update in {time.time()-t0:.1f}s; VmHWM {vmhwm(agent.pid)}")
    stop_agent(agent); tail(agent.errpath, 2)
