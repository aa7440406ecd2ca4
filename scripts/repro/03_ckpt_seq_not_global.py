#!/usr/bin/env python3
"""Spurious resync epochs: the WAL header's checkpoint sequence is the *writing connection's*
private restart counter (wal.c pWal->nCkpt), not a global counter, so a service with two
connections (a pool) that take turns restarting the WAL makes the daemon agent see
"checkpoint sequence N -> N" and run a full resync epoch of every table on each restart,
though nothing was lost. (docs/wal-capture-protocol.md fact 7 / step 5 rely on +1.)
usage: 03_ckpt_seq_not_global.py [ROUNDS]
"""
import sys, os, time
sys.path.insert(0, os.path.dirname(__file__))
from lib import *
rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 4
d = workdir("ckptseq")
db, log, rep = f"{d}/src.db", f"{d}/events.db", f"{d}/replica.db"
a = new_source(db, wal_autocheckpoint=0)
b = connect(db); b.execute("PRAGMA wal_autocheckpoint=0")
a.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
a.executemany("INSERT INTO t(v) VALUES(?)", [("x" * 50,)] * 1000)  # 1000 rows to snapshot
agent = start_agent(db, log, stderr_path=f"{d}/agent.err")
time.sleep(1.5)
conns = [a, b]
for r in range(rounds):
    c = conns[r % 2]
    for i in range(1100):  # past the agent's 1,000-frame barrier threshold
        c.execute("INSERT INTO t(v) VALUES(?)", (f"r{r}-{i}",))
    time.sleep(1.0)      # agent catches up, runs its barrier cycle (PASSIVE + mark-0 pin)
    conns[(r + 1) % 2].execute("INSERT INTO t(v) VALUES('restart')")  # the other connection restarts the WAL
    time.sleep(0.5)
    hdr = open(db + "-wal", "rb").read(32)
    print(f"round {r}: WAL header checkpoint sequence now {int.from_bytes(hdr[12:16], 'big')}, salt1 {int.from_bytes(hdr[16:20], 'big')}")
time.sleep(1)
rc = stop_agent(agent)
errs = open(f"{d}/agent.err").read()
resyncs = errs.count("epoch (resync) of")
for l in errs.splitlines():
    if "warning" in l: print("   " + l)
sink(log, rep)
p = check(db, rep, log)
verdict(resyncs == 0, f"no resync epoch when nothing was lost (got {resyncs} resync epochs of the whole table in {rounds} WAL restarts)")
verdict(p.returncode == 0, "replica consistent")
