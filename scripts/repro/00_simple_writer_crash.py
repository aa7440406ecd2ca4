#!/usr/bin/env python3
"""The simplest service: one connection, default wal_autocheckpoint (1000), 3-row transactions
in a loop, no external checkpoints. The daemon agent dies within seconds ("invalid database
page: …") or runs resync epochs, and the replica diverges.
usage: 00_simple_writer_crash.py [SECONDS]"""
import sys, os, time, sqlite3, random
sys.path.insert(0, os.path.dirname(__file__))
from lib import *
import oracle
secs = float(sys.argv[1]) if len(sys.argv) > 1 else 10
d = workdir("simple")
db, log, rep = f"{d}/src.db", f"{d}/events.db", f"{d}/replica.db"
w = new_source(db); w.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
agent = start_agent(db, log); time.sleep(1)
end = time.time() + secs; n = 0
while time.time() < end:
    w.execute("BEGIN")
    for _ in range(3): w.execute("INSERT OR REPLACE INTO t(id, v) VALUES(?, ?)", (random.randint(1, 5000), "x" * random.randint(1, 100)))
    w.execute("COMMIT"); n += 1
time.sleep(2)
died = agent.poll() is not None
rc = stop_agent(agent)
text = open(agent.errpath).read()
print(f"writer committed {n} transactions; agent died on its own: {died} (exit {rc}); resync epochs: {text.count('epoch (resync) of')}")
for l in text.splitlines():
    if l.startswith("cdc-agent:") or "warning" in l: print("   " + l[:220])
sink(log, rep); pc = check(db, rep, log)
verdict(not died and pc.returncode == 0, "agent survives a plain writer and the replica is consistent")
