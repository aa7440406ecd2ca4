#!/usr/bin/env python3
"""How fast does the daemon stop on SIGTERM while it digests a big transaction, and is the log
then right (a restart with --once must complete it)? README: "finishes the batch in hand and exits 0".
usage: 17_sigterm_latency.py [ROWS]"""
import sys, os, time, sqlite3
sys.path.insert(0, os.path.dirname(__file__))
from lib import *
import oracle
n = int(sys.argv[1]) if len(sys.argv) > 1 else 300000
d = workdir("sigterm")
db, log, rep = f"{d}/src.db", f"{d}/events.db", f"{d}/replica.db"
w = new_source(db, wal_autocheckpoint=0)
w.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT)")
w.execute("INSERT INTO t(a) VALUES('seed')")
agent = start_agent(db, log); time.sleep(1.5)
w.execute("BEGIN"); w.executemany("INSERT INTO t(a) VALUES(?)", ((f"r{i}",) for i in range(n))); w.execute("COMMIT")
time.sleep(2)
t0 = time.time(); rc = stop_agent(agent, timeout=300)
print(f"SIGTERM 2 s into a {n}-row transaction: the agent exited {rc} after {time.time()-t0:.1f} s")
tail(agent.errpath, 3)
agent_once(db, log); sink(log, rep); check(db, rep, log); oracle.compare(log, db)
verdict(time.time() - t0 < 5, "agent stops within 5 s of SIGTERM")
