#!/usr/bin/env python3
"""The agent's pin (read lock in the -shm) silently disappears after it captures one
transaction, so a service checkpoint can reset the WAL under a paused/slow agent:
committed transactions are lost without any resync.

Steps: agent daemon captures one commit; we look at the fcntl locks the agent process
holds on the -shm lock bytes (120..127); then SIGSTOP the agent (a slow agent), commit
50 transactions, run PRAGMA wal_checkpoint(TRUNCATE) (must be BUSY while the agent pins
unread frames), commit 5 more, SIGCONT, stop, sink, replica-check.
usage: 02_shm_lock_dropped.py
"""
import sys, os, time, fcntl, struct, signal
sys.path.insert(0, os.path.dirname(__file__))
from lib import *

def agent_locks(shm, pid):
    """Which of the 8 WAL lock bytes (120+i) does process `pid` hold (F_GETLK as a writer)?"""
    fd = os.open(shm, os.O_RDWR)
    held = []
    try:
        for i in range(8):
            fl = struct.pack("hhqqi4x", fcntl.F_WRLCK, 0, 120 + i, 1, 0)
            r = fcntl.fcntl(fd, fcntl.F_GETLK, fl)
            typ, _, start, ln, lpid = struct.unpack("hhqqi4x", r)
            if typ != fcntl.F_UNLCK and lpid == pid:
                held.append(("WRITE", "CKPT", "RECOVER", "READ0", "READ1", "READ2", "READ3", "READ4")[i] + ("(sh)" if typ == fcntl.F_RDLCK else "(ex)"))
    finally:
        os.close(fd)  # separate process: our close does not affect anyone else
    return held

d = workdir("shmlock")
db, log, rep = f"{d}/src.db", f"{d}/events.db", f"{d}/replica.db"
w = new_source(db, wal_autocheckpoint=0)  # service never auto-checkpoints; keeps WAL open
w.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
w.execute("INSERT INTO t(v) VALUES('seed')")
agent = start_agent(db, log)
time.sleep(1.5)
print("locks held by agent after start (expect a READn):", agent_locks(db + "-shm", agent.pid))
w.execute("INSERT INTO t(v) VALUES('one')")
time.sleep(1.0)
locks = agent_locks(db + "-shm", agent.pid)
print("locks held by agent after capturing one commit (expect a READn):", locks)
os.kill(agent.pid, signal.SIGSTOP)
for i in range(50):
    w.execute("INSERT INTO t(v) VALUES(?)", (f"lost-{i}",))
r = w.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
print("TRUNCATE checkpoint while the agent pins unread frames ->", r, "(expect busy=1)")
for i in range(5):
    w.execute("INSERT INTO t(v) VALUES(?)", (f"after-{i}",))
os.kill(agent.pid, signal.SIGCONT)
time.sleep(2)
rc = stop_agent(agent)
tail(agent.errpath)
sink(log, rep)
p = check(db, rep, log)
verdict(bool(locks), "agent still holds its read lock after capturing a transaction")
verdict(r[0] == 1, "service TRUNCATE checkpoint is blocked while the agent has unread frames")
verdict(p.returncode == 0, "replica consistent (no silent loss)")
