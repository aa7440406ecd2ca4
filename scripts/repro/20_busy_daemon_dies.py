#!/usr/bin/env python3
"""The daemon exits instead of retrying when the service holds its write lock longer than
--busy-timeout while the agent needs its barrier (snapshot epoch at start / resync).
`cdc-agent run --help` says: "--busy-timeout D ... (default 5s; the daemon then retries with back-off)".
usage: 20_busy_daemon_dies.py"""
import sys, os, time, sqlite3
sys.path.insert(0, os.path.dirname(__file__))
from lib import *
d = workdir("busy")
db, log = f"{d}/src.db", f"{d}/events.db"
s = new_source(db); s.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v)"); s.execute("INSERT INTO t(v) VALUES(1)")
s.execute("BEGIN IMMEDIATE"); s.execute("INSERT INTO t(v) VALUES(2)")   # a slow service transaction (e.g. a migration)
a = start_agent(db, log, extra=["--busy-timeout", "2s"])
time.sleep(4)
s.execute("COMMIT")
time.sleep(2)
alive = a.poll() is None
rc = stop_agent(a)
tail(a.errpath, 3)
verdict(alive, f"daemon survives a service write transaction longer than --busy-timeout (exit {rc})")
