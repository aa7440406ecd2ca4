#!/usr/bin/env python3
"""How long does the agent block the service's writers? A writer runs BEGIN IMMEDIATE + a few
row changes + COMMIT in a loop for SECONDS; each transaction's wall time is recorded. Runs
with no agent, then with the daemon agent. Every few hundred transactions the writer commits a
bigger one (2,000 rows) so the agent has real work when its barrier fires.
usage: 13_writer_latency.py [SECONDS]"""
import sys, os, time, sqlite3, random
sys.path.insert(0, os.path.dirname(__file__))
from lib import *
secs = float(sys.argv[1]) if len(sys.argv) > 1 else 20

def run_writer(db, secs):
    w = sqlite3.connect(db, isolation_level=None, timeout=30)
    rng = random.Random(1); lat = []; end = time.time() + secs; i = 0
    while time.time() < end:
        s = time.perf_counter()
        w.execute("BEGIN IMMEDIATE")
        k = 2000 if i % 300 == 299 else 3
        w.executemany("INSERT OR REPLACE INTO t(id, v) VALUES(?, ?)", ((rng.randint(1, 50000), "x" * rng.randint(1, 200)) for _ in range(k)))
        w.execute("COMMIT")
        if k == 3: lat.append(time.perf_counter() - s)
        i += 1
        time.sleep(0.001)
    w.close(); lat.sort()
    return {"txns": i, "p50_ms": round(lat[len(lat)//2]*1e3, 2), "p99_ms": round(lat[int(len(lat)*.99)]*1e3, 2),
            "p999_ms": round(lat[int(len(lat)*.999)]*1e3, 1), "max_ms": round(lat[-1]*1e3, 1),
            "over_100ms": sum(1 for x in lat if x > 0.1)}

out = {}
for label in ("no agent", "daemon agent"):
    d = workdir("lat")
    db, log = f"{d}/src.db", f"{d}/events.db"
    c = new_source(db); c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)"); c.close()
    keep = sqlite3.connect(db)  # keeps the WAL alive
    a = start_agent(db, log) if label != "no agent" else None
    time.sleep(1.5)
    out[label] = run_writer(db, secs)
    if a:
        time.sleep(2); rc = stop_agent(a)
        text = open(a.errpath).read()
        out[label]["agent_exit"] = rc
        out[label]["agent_resyncs"] = text.count("epoch (resync) of")
        out[label]["agent_died"] = [l[:160] for l in text.splitlines() if l.startswith("cdc-agent:")]
    print(label, out[label], flush=True)
