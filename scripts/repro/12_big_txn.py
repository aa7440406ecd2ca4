#!/usr/bin/env python3
"""One huge transaction while the daemon runs: agent peak memory (VmHWM), time to capture, and
the service's commit latency for small commits right after. Promise 7: memory bounded by the
work in flight (batch size), not by the transaction/database size.
usage: 12_big_txn.py rows N | blobs MB"""
import sys, os, time, sqlite3, threading
sys.path.insert(0, os.path.dirname(__file__))
from lib import *
kind = sys.argv[1] if len(sys.argv) > 1 else "rows"
n = int(sys.argv[2]) if len(sys.argv) > 2 else 200000
d = workdir("big" + kind)
db, log, rep = f"{d}/src.db", f"{d}/events.db", f"{d}/replica.db"
w = new_source(db)
w.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b INTEGER, c BLOB)")
w.execute("INSERT INTO t(a) VALUES('seed')")
agent = start_agent(db, log); time.sleep(1.5)
base = vmhwm(agent.pid)
peak = [0]
stop = False
def watch():
    while not stop:
        try:
            for l in open(f"/proc/{agent.pid}/status"):
                if l.startswith("VmRSS"): peak[0] = max(peak[0], int(l.split()[1]))
        except OSError: pass
        time.sleep(0.05)
threading.Thread(target=watch, daemon=True).start()
t0 = time.time()
w.execute("BEGIN")
if kind == "rows":
    w.executemany("INSERT INTO t(a, b, c) VALUES(?, ?, ?)", ((f"row-{i}", i, None) for i in range(n)))
else:
    blob = os.urandom(1 << 20)
    for i in range(n): w.execute("INSERT INTO t(a, c) VALUES(?, ?)", (f"blob-{i}", blob[:-1] + bytes([i % 256])))
w.execute("COMMIT")
print(f"committed the big transaction in {time.time()-t0:.1f}s; WAL {os.path.getsize(db + '-wal')/1e6:.0f} MB")
# small commits right after: how long does each take while the agent digests the big one?
lat = []
t1 = time.time()
lc = sqlite3.connect(f"file:{log}?mode=ro", uri=True)
def last_lsn():
    try: return lc.execute("SELECT max(lsn) FROM cdc_events").fetchone()[0] or 0
    except sqlite3.OperationalError: return 0
target = None
for i in range(2000):
    s = time.perf_counter(); w.execute("INSERT INTO t(a) VALUES('small')"); lat.append(time.perf_counter() - s)
    time.sleep(0.01)
    if agent.poll() is not None: break
    if i > 50 and last_lsn() >= (n + 2 + i): break
while agent.poll() is None and time.time() - t1 < 600:
    cur = last_lsn(); time.sleep(1)
    if last_lsn() == cur and cur > n: break
print(f"agent caught up (or stopped) {time.time()-t1:.1f}s after the commit; events in log: {last_lsn()}")
stop = True
print(f"agent VmHWM before: {base}; peak RSS during: {peak[0]} kB; VmHWM after: {vmhwm(agent.pid)}")
print(f"small commits after the big one: n={len(lat)} max {max(lat)*1e3:.1f} ms, p50 {sorted(lat)[len(lat)//2]*1e3:.2f} ms")
rc = stop_agent(agent); print("agent exit", rc); tail(agent.errpath, 4)
agent_once(db, log)  # finish whatever the daemon had not captured
ps = sink(log, rep); pc = check(db, rep, log)
