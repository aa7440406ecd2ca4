#!/usr/bin/env python3
"""WAL-capture stress test: a writer process commits continuously with a small
wal_autocheckpoint while another process runs TRUNCATE (and RESTART, PASSIVE) checkpoints at
random moments, and cdc-agent runs as a daemon in WAL mode (no triggers). Afterwards the agent
must have caught up, cdc-sink builds a replica, replica-check must be consistent, and the
number of captured row changes must equal the number the writer committed, unless a resync
epoch was logged (then the replica must still be consistent).

Each transaction touches distinct rows (no row twice), so the writer's count of row changes
is exactly what WAL capture reports (it reports each transaction's net effect per row).

usage: scripts/stress/wal-stress.py --bin DIR [--transactions N] [--seed S] [--dir D]
Exit 0 when everything held, 1 when a check failed. Prints a JSON summary last."""
import argparse, json, os, random, signal, sqlite3, subprocess, sys, tempfile, time

ap = argparse.ArgumentParser()
ap.add_argument("--bin", required=True)
ap.add_argument("--transactions", type=int, default=2000)
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--dir", default=None)
ap.add_argument("--autocheckpoint", type=int, default=16)
ap.add_argument("--pause-ms", type=float, default=1.0, help="writer pause between transactions (0: no pause)")
args = ap.parse_args()
d = args.dir or tempfile.mkdtemp(prefix="wal-stress-")
os.makedirs(d, exist_ok=True)
SRC, LOG, REP = (os.path.join(d, n) for n in ("source.db", "events.db", "replica.db"))
for p in (SRC, SRC + "-wal", SRC + "-shm", LOG, REP):
    if os.path.exists(p): os.remove(p)

if os.environ.get("WAL_STRESS_ROLE") == "writer":
    pass

WRITER = r'''
import random, sqlite3, sys, json
import time
src, n, seed, ac, out, pause = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], float(sys.argv[6])
rng = random.Random(seed)
c = sqlite3.connect(src, isolation_level=None, timeout=30)
c.execute("PRAGMA journal_mode=WAL"); c.execute(f"PRAGMA wal_autocheckpoint={ac}")
live = {"items": set(), "pairs": set()}
next_id = 1
changes = 0
for t in range(n):
    c.execute("BEGIN IMMEDIATE")
    touched = set()
    k = rng.randint(1, 8)
    for _ in range(k):
        r = rng.random()
        if r < 0.5 or not live["items"]:
            rid = next_id; next_id += 1
            big = rng.random() < 0.05
            c.execute("INSERT INTO items VALUES (?, ?, ?, ?)", (rid, ("x" * 3000) if big else f"n{rid}", rng.random(), bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))))
            live["items"].add(rid); touched.add(("items", rid)); changes += 1
            key = (f"k{rid % 97}", rid)
            c.execute("INSERT INTO pairs VALUES (?, ?, ?)", (key[0], key[1], rid * 2))
            live["pairs"].add(key); touched.add(("pairs", key)); changes += 1
        elif r < 0.8:
            rid = rng.choice(sorted(live["items"]))
            if ("items", rid) in touched: continue
            c.execute("UPDATE items SET name = ?, price = price + 1 WHERE id = ?", (f"u{t}", rid))
            touched.add(("items", rid)); changes += 1
        else:
            rid = rng.choice(sorted(live["items"]))
            if ("items", rid) in touched: continue
            c.execute("DELETE FROM items WHERE id = ?", (rid,))
            live["items"].discard(rid); touched.add(("items", rid)); changes += 1
    if rng.random() < 0.03:
        c.execute("ROLLBACK")
        # the rolled-back changes do not count; rebuild the live sets from the database
        live["items"] = {r[0] for r in c.execute("SELECT id FROM items")}
        live["pairs"] = {(r[0], r[1]) for r in c.execute("SELECT a, b FROM pairs")}
        changes -= len(touched)
    else:
        c.execute("COMMIT")
    if pause: time.sleep(pause / 1000)
json.dump({"transactions": n, "row_changes": changes}, open(out, "w"))
'''

CHECKPOINTER = r'''
import random, sqlite3, sys, time, os
src, seed, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rng = random.Random(seed)
c = sqlite3.connect(src, isolation_level=None, timeout=0.001)
n = 0
top = 0
while not os.path.exists(stop):
    try:
        with open(src + "-wal", "rb") as f: h = f.read(16)
        if len(h) == 16: top = max(top, int.from_bytes(h[12:16], "big"))
    except OSError:
        pass
    time.sleep(rng.uniform(0.001, 0.05))
    mode = rng.choice(["TRUNCATE", "TRUNCATE", "RESTART", "PASSIVE", "FULL"])
    try:
        c.execute(f"PRAGMA wal_checkpoint({mode})").fetchall(); n += 1
    except sqlite3.OperationalError:
        pass
print(n, top)
'''

con = sqlite3.connect(SRC, isolation_level=None)
con.execute("PRAGMA journal_mode=WAL")
con.executescript("""
CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, price REAL, tag BLOB);
CREATE TABLE pairs(a TEXT, b INTEGER, v, PRIMARY KEY(a, b)) WITHOUT ROWID;
""")
con.close()

failures = []
t0 = time.time()
agent_log = open(os.path.join(d, "agent.log"), "w")
agent = subprocess.Popen([os.path.join(args.bin, "cdc-agent"), "run", "--db", SRC, "--log", LOG, "--mode", "wal"],
                         stdout=agent_log, stderr=subprocess.STDOUT)
# Let the initial epoch finish before the writer starts, so every later change is streamed.
deadline = time.time() + 30
while time.time() < deadline:
    if os.path.exists(LOG):
        try:
            e = sqlite3.connect(f"file:{LOG}?mode=ro", uri=True)
            if e.execute("SELECT count(*) FROM cdc_events WHERE type = 'snapshot_end'").fetchone()[0] > 0: e.close(); break
            e.close()
        except sqlite3.OperationalError:
            pass
    time.sleep(0.02)
stop = os.path.join(d, "stop-checkpointer")
ledger = os.path.join(d, "ledger.json")
checkpointer = subprocess.Popen([sys.executable, "-c", CHECKPOINTER, SRC, str(args.seed + 7), stop], stdout=subprocess.PIPE, text=True)
writer = subprocess.run([sys.executable, "-c", WRITER, SRC, str(args.transactions), str(args.seed), str(args.autocheckpoint), ledger, str(args.pause_ms)],
                        capture_output=True, text=True)
if writer.returncode != 0: failures.append(f"writer failed: {writer.stderr[-500:]}")
open(stop, "w").close()
out = (checkpointer.communicate(timeout=60)[0] or "0 0").split()
checkpoints, top_sequence = int(out[0]), int(out[1])
written = json.load(open(ledger)) if os.path.exists(ledger) else {"row_changes": -1}

# A clean stop (SIGTERM) captures to the WAL's end under the agent's barrier before it exits.
agent.send_signal(signal.SIGTERM)
try:
    rc = agent.wait(timeout=120)
except subprocess.TimeoutExpired:
    agent.kill(); rc = -9
if rc != 0: failures.append(f"agent exited {rc} (see {d}/agent.log)")
# The agent's connections were the last: SQLite checkpointed and removed the WAL as they
# closed. A restarted agent must know that nothing was lost (no resync epoch).
again = subprocess.run([os.path.join(args.bin, "cdc-agent"), "run", "--db", SRC, "--log", LOG, "--mode", "wal", "--once"],
                       capture_output=True, text=True)
open(os.path.join(d, "agent-once.log"), "w").write(again.stderr)
if again.returncode != 0: failures.append(f"restarted agent exited {again.returncode}")
if "resync" in again.stderr: failures.append("the agent restarted after a clean stop ran a resync epoch")

e = sqlite3.connect(f"file:{LOG}?mode=ro", uri=True)
epochs = [r[0] for r in e.execute("SELECT event FROM cdc_events WHERE type = 'snapshot_start'")]
resyncs = sum(1 for x in epochs if '"resync"' in x)
first_end = e.execute("SELECT min(lsn) FROM cdc_events WHERE type = 'snapshot_end'").fetchone()[0] or 0
captured = e.execute("SELECT count(*) FROM cdc_events WHERE type = 'change' AND lsn > ? AND event NOT LIKE '%\"op\":\"snapshot\"%'", (first_end,)).fetchone()[0]
e.close()
if resyncs == 0 and captured != written["row_changes"]:
    failures.append(f"captured {captured} row changes, the writer committed {written['row_changes']}")
sink = subprocess.run([os.path.join(args.bin, "cdc-sink"), "--log", LOG, "--replica", REP], capture_output=True, text=True)
if sink.returncode != 0: failures.append(f"sink exited {sink.returncode}: {sink.stderr[-500:]}")
check = subprocess.run([os.path.join(args.bin, "replica-check"), "--source", SRC, "--replica", REP], capture_output=True, text=True)
if check.returncode != 0: failures.append(f"replica-check exited {check.returncode}: {check.stdout[-1500:]}")
print(json.dumps({"dir": d, "seconds": round(time.time() - t0, 1), "transactions": args.transactions,
                  "written_row_changes": written["row_changes"], "captured_row_changes": captured,
                  "resync_epochs": resyncs, "checkpoints_by_other_process": checkpoints,
                  "wal_restarts_seen": top_sequence, "failures": failures}))
sys.exit(1 if failures else 0)
