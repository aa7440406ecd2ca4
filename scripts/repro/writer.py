#!/usr/bin/env python3
"""Hostile service writer: mixed inserts/updates/deletes, overflow-page blobs and texts,
multi-statement transactions, savepoints, rollbacks. Records per-commit latency.

usage: writer.py DB SECONDS SEED [--schema] [--max-blob N] [--stats FILE]
"""
import sqlite3, random, sys, time, json, argparse

ap = argparse.ArgumentParser()
ap.add_argument("db"); ap.add_argument("seconds", type=float); ap.add_argument("seed", type=int)
ap.add_argument("--schema", action="store_true", help="create tables first")
ap.add_argument("--max-blob", type=int, default=20000)
ap.add_argument("--stats")
ap.add_argument("--autockpt", type=int, default=None)
ap.add_argument("--sleep", type=float, default=0.0)
a = ap.parse_args()
rng = random.Random(a.seed)
con = sqlite3.connect(a.db, timeout=60, isolation_level=None)
con.execute("PRAGMA busy_timeout=60000")
if a.autockpt is not None:
    con.execute(f"PRAGMA wal_autocheckpoint={a.autockpt}")
if a.schema:
    con.executescript("""
    CREATE TABLE IF NOT EXISTS items(id INTEGER PRIMARY KEY, name TEXT, qty INTEGER, price REAL, data BLOB);
    CREATE TABLE IF NOT EXISTS docs(k TEXT PRIMARY KEY, body TEXT, n INTEGER) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS nokey(a, b, c);
    CREATE INDEX IF NOT EXISTS items_name ON items(name);
    """)

def blob():
    r = rng.random()
    if r < 0.6: return rng.randbytes(rng.randint(0, 200))
    if r < 0.9: return rng.randbytes(rng.randint(1000, 8000))
    return rng.randbytes(rng.randint(8000, a.max_blob))

def text():
    r = rng.random()
    n = rng.randint(0, 50) if r < 0.7 else rng.randint(1000, 30000)
    return "".join(rng.choice("abcdefé☃😀 ") for _ in range(n))

def val():
    return rng.choice([None, rng.randint(-2**63, 2**63-1), rng.random()*1e9, -0.0, text()[:20], rng.randbytes(5)])

def op(cur):
    t = rng.random()
    if t < 0.45:
        k = rng.random()
        if k < 0.4:
            cur.execute("INSERT OR REPLACE INTO items(id,name,qty,price,data) VALUES(?,?,?,?,?)",
                        (rng.randint(1, 3000), text()[:30], rng.randint(-5, 10**12), rng.random()*100, blob()))
        elif k < 0.75:
            cur.execute("UPDATE items SET qty=qty+1, data=? WHERE id IN (SELECT id FROM items ORDER BY random() LIMIT ?)", (blob(), rng.randint(1, 5)))
        else:
            cur.execute("DELETE FROM items WHERE id IN (SELECT id FROM items ORDER BY random() LIMIT ?)", (rng.randint(1, 8),))
    elif t < 0.8:
        k = rng.random()
        key = "k%05d" % rng.randint(0, 2000)
        if k < 0.5:
            cur.execute("INSERT INTO docs(k,body,n) VALUES(?,?,?) ON CONFLICT(k) DO UPDATE SET body=excluded.body, n=n+1", (key, text(), 0))
        elif k < 0.8:
            cur.execute("UPDATE docs SET body=? WHERE k=?", (text(), key))
        else:
            cur.execute("DELETE FROM docs WHERE k>=? AND k<?", (key, key[:-1] + "9"))
    else:
        k = rng.random()
        if k < 0.5:
            cur.execute("INSERT INTO nokey VALUES(?,?,?)", (val(), val(), val()))
        elif k < 0.8:
            cur.execute("UPDATE nokey SET b=? WHERE rowid IN (SELECT rowid FROM nokey ORDER BY random() LIMIT 3)", (val(),))
        else:
            cur.execute("DELETE FROM nokey WHERE rowid IN (SELECT rowid FROM nokey ORDER BY random() LIMIT 3)")

lat = []
commits = rollbacks = errors = 0
end = time.time() + a.seconds
while time.time() < end:
    cur = con.cursor()
    try:
        cur.execute(rng.choice(["BEGIN", "BEGIN IMMEDIATE"]))
        for _ in range(rng.randint(1, 12)):
            if rng.random() < 0.1:
                cur.execute("SAVEPOINT sp")
                op(cur)
                cur.execute(rng.choice(["ROLLBACK TO sp", "RELEASE sp"]))
            else:
                op(cur)
        if rng.random() < 0.07:
            cur.execute("ROLLBACK"); rollbacks += 1
        else:
            t0 = time.perf_counter()
            cur.execute("COMMIT")
            lat.append(time.perf_counter() - t0)
            commits += 1
    except sqlite3.OperationalError as e:
        errors += 1
        try: cur.execute("ROLLBACK")
        except Exception: pass
    if a.sleep: time.sleep(a.sleep)
lat.sort()
st = {"commits": commits, "rollbacks": rollbacks, "errors": errors,
      "p50_ms": lat[len(lat)//2]*1e3 if lat else None,
      "p99_ms": lat[int(len(lat)*0.99)]*1e3 if lat else None,
      "max_ms": lat[-1]*1e3 if lat else None}
print("writer", json.dumps(st), flush=True)
if a.stats:
    json.dump(st, open(a.stats, "w"))
