#!/usr/bin/env python3
"""Files swapped under the agent.
 R1: database replaced by another database while the agent is stopped (--once runs)
 R2: database replaced (rename over) while the daemon runs; the service then writes to the new file
 R3: -wal deleted while the daemon runs (service keeps writing: a new WAL appears)
 R4: -shm deleted while the daemon runs
 R5: service restarts cleanly while the agent is stopped (last connection closes: WAL checkpointed+deleted)
usage: 11_replaced_files.py [R1 R2 ...]"""
import sys, os, time, sqlite3, shutil
sys.path.insert(0, os.path.dirname(__file__))
from lib import *
import oracle

def mkdb(path, tag, n=50):
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL"); c.execute("PRAGMA wal_autocheckpoint=0")
    c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
    c.executemany("INSERT INTO t(id, v) VALUES(?, ?)", [(i, f"{tag}-{i}") for i in range(n)])
    return c

def finish(name, d, db, log, agent=None):
    if agent is not None:
        alive = agent.poll() is None
        rc = stop_agent(agent)
        print(f"{name}: daemon alive before SIGTERM: {alive}, exit {rc}")
        tail(agent.errpath, 6)
    p = agent_once(db, log)
    rep = f"{d}/replica.db"
    ps = sink(log, rep)
    pc = check(db, rep, log)
    ok = oracle.compare(log, db)
    verdict(pc.returncode == 0 and ok, f"{name}: replica consistent with the current source")

cases = sys.argv[1:] or ["R1", "R2", "R3", "R4", "R5"]
if "R1" in cases:
    d = workdir("R1"); db, log = f"{d}/src.db", f"{d}/events.db"
    w = mkdb(db, "old"); agent_once(db, log)
    w.close()
    c = mkdb(f"{d}/other.db", "new", 30); c.execute("INSERT INTO t VALUES(1000, 'x')")
    os.rename(f"{d}/other.db", db); os.rename(f"{d}/other.db-wal", db + "-wal"); os.rename(f"{d}/other.db-shm", db + "-shm")
    finish("R1", d, db, log)
    c.close()
if "R2" in cases:
    d = workdir("R2"); db, log = f"{d}/src.db", f"{d}/events.db"
    w = mkdb(db, "old")
    a = start_agent(db, log); time.sleep(1.5)
    w.execute("UPDATE t SET v = 'old-upd' WHERE id < 5"); time.sleep(0.5)
    c = mkdb(f"{d}/other.db", "new", 30)
    c.close()  # checkpointed, WAL deleted
    os.rename(f"{d}/other.db", db)   # the service's deploy swaps in a new database file
    w.close()
    w = sqlite3.connect(db, isolation_level=None); w.execute("PRAGMA wal_autocheckpoint=0")
    for i in range(20): w.execute("INSERT INTO t(id, v) VALUES(?, ?)", (500 + i, f"after-swap-{i}"))
    w.execute("UPDATE t SET v = 'changed' WHERE id < 10")
    time.sleep(1.5)
    finish("R2", d, db, log, a)
if "R3" in cases:
    d = workdir("R3"); db, log = f"{d}/src.db", f"{d}/events.db"
    w = mkdb(db, "old")
    a = start_agent(db, log); time.sleep(1.5)
    for i in range(10): w.execute("INSERT INTO t(id, v) VALUES(?, ?)", (100 + i, "before-delete"))
    time.sleep(0.5)
    os.unlink(db + "-wal")
    for i in range(10): w.execute("INSERT INTO t(id, v) VALUES(?, ?)", (200 + i, "after-delete"))
    time.sleep(1.5)
    w.close()
    finish("R3", d, db, log, a)
if "R4" in cases:
    d = workdir("R4"); db, log = f"{d}/src.db", f"{d}/events.db"
    w = mkdb(db, "old")
    a = start_agent(db, log); time.sleep(1.5)
    os.unlink(db + "-shm")
    for i in range(10): w.execute("INSERT INTO t(id, v) VALUES(?, ?)", (100 + i, "after-shm-delete"))
    w2 = sqlite3.connect(db, isolation_level=None)   # a new connection creates a new -shm
    for i in range(10): w2.execute("INSERT INTO t(id, v) VALUES(?, ?)", (200 + i, "second-conn"))
    print("R4: second connection sees", w2.execute("SELECT count(*) FROM t").fetchone()[0], "rows; first sees", w.execute("SELECT count(*) FROM t").fetchone()[0])
    time.sleep(1.5)
    w.close(); w2.close()
    finish("R4", d, db, log, a)
if "R5" in cases:
    d = workdir("R5"); db, log = f"{d}/src.db", f"{d}/events.db"
    w = mkdb(db, "old"); agent_once(db, log)
    w.execute("UPDATE t SET v = 'pre-restart' WHERE id < 3")
    w.close()   # service stops: WAL checkpointed and deleted (uncaptured change included)
    w = sqlite3.connect(db, isolation_level=None)
    w.execute("INSERT INTO t VALUES(999, 'after restart')")
    finish("R5", d, db, log)
    print("R5 agent warnings:", [l for l in open(log + '.agent.err').read().splitlines() if 'warning' in l] if os.path.exists(log + '.agent.err') else "(see above)")
