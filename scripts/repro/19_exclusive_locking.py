#!/usr/bin/env python3
"""A service using PRAGMA locking_mode=EXCLUSIVE (with WAL): (a) agent started first, then the
service writes; (b) service holds its exclusive lock, then the agent starts.
usage: 19_exclusive_locking.py"""
import sys, os, time, sqlite3
sys.path.insert(0, os.path.dirname(__file__))
from lib import *
d = workdir("exclusive")
db, log = f"{d}/src.db", f"{d}/events.db"
c = new_source(db); c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v)"); c.execute("INSERT INTO t(v) VALUES(1)"); c.close()
a = start_agent(db, log); time.sleep(1.5)
s = sqlite3.connect(db, isolation_level=None, timeout=3)
s.execute("PRAGMA locking_mode=EXCLUSIVE")
t0 = time.time()
try:
    s.execute("INSERT INTO t(v) VALUES(2)"); print(f"(a) service write with the agent running: ok in {time.time()-t0:.2f}s")
except sqlite3.OperationalError as e:
    print(f"(a) service write with the agent running FAILED after {time.time()-t0:.1f}s: {e}")
rc = stop_agent(a); tail(a.errpath, 3)
s.close()
s = sqlite3.connect(db, isolation_level=None, timeout=3)
s.execute("PRAGMA locking_mode=EXCLUSIVE"); s.execute("INSERT INTO t(v) VALUES(3)")
p = agent_once(db, log)
print("(b) agent --once while the service holds an exclusive lock: rc", p.returncode)
