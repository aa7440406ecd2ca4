#!/usr/bin/env python3
"""SIGTERM / kill -9 during the initial snapshot epoch (partial epoch left in the log), service
keeps writing (deletes, updates), restart with --once; then sink + replica-check + oracle.
Also: a second daemon on the same source must be refused.
usage: 22_epoch_interrupted.py [ROWS]"""
import sys, os, time, sqlite3, signal
sys.path.insert(0, os.path.dirname(__file__))
from lib import *
import oracle
n = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
for sig in (signal.SIGTERM, signal.SIGKILL):
    d = workdir("epochint")
    db, log, rep = f"{d}/src.db", f"{d}/events.db", f"{d}/replica.db"
    w = new_source(db)
    w.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
    w.execute("BEGIN"); w.executemany("INSERT INTO t(v) VALUES(?)", ((f"r{i}",) for i in range(n))); w.execute("COMMIT")
    a = start_agent(db, log); time.sleep(2.5)
    a2 = subprocess.run([AGENT, "run", "--db", db, "--log", f"{d}/other.db", "--mode", "wal", "--once"], capture_output=True, text=True)
    print("second agent on the same source:", a2.returncode, a2.stderr.strip().splitlines()[-1][:160])
    w.execute("DELETE FROM t WHERE id % 7 = 0"); w.execute("UPDATE t SET v = 'u' WHERE id % 11 = 0")
    if sig == signal.SIGKILL: a.kill(); a.wait()
    else: print("agent exit after SIGTERM:", stop_agent(a))
    c = sqlite3.connect(f"file:{log}?mode=ro", uri=True)
    print(sig.name, "events in log after interruption:", c.execute("SELECT count(*), max(lsn) FROM cdc_events").fetchone())
    sink(log, rep)  # a sink that applies the partial epoch first
    w.execute("INSERT INTO t(v) VALUES('after')")
    agent_once(db, log)
    sink(log, rep)
    pc = check(db, rep, log)
    ok = oracle.compare(log, db)
    verdict(pc.returncode == 0 and ok, f"{sig.name} mid-epoch: replica consistent after restart")
