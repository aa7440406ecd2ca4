#!/usr/bin/env python3
"""Runs random checkpoints (PASSIVE/FULL/RESTART/TRUNCATE) against DB for SECONDS."""
import sqlite3, random, sys, time
db, seconds, seed = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
modes = sys.argv[4].split(",") if len(sys.argv) > 4 else ["PASSIVE", "FULL", "RESTART", "TRUNCATE"]
if modes == ["--off"]: sys.exit(0)
rng = random.Random(seed)
con = sqlite3.connect(db, timeout=2, isolation_level=None)
con.execute("PRAGMA busy_timeout=2000")
end = time.time() + seconds
counts = {}
while time.time() < end:
    mode = rng.choice(modes)
    try:
        r = con.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        counts[f"{mode}:{'busy' if r[0] else 'ok'}"] = counts.get(f"{mode}:{'busy' if r[0] else 'ok'}", 0) + 1
    except sqlite3.OperationalError as e:
        counts[f"{mode}:err"] = counts.get(f"{mode}:err", 0) + 1
    time.sleep(rng.random() * 0.2)
print("checkpointer", counts, flush=True)
