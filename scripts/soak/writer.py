#!/usr/bin/env python3
"""Ledger-keeping writer for scripts/soak/kill9.py: commits small random transactions until
SIGTERM, and on request one large transaction.

usage: writer.py SOURCE.db LEDGER.jsonl SEED BIG_REQUEST_FILE [WAL_AUTOCHECKPOINT]

Every committed transaction gets a number w (1, 2, ...) stamped into column `w` of every row it
inserts or updates, and into the single row of `ticks`; the ledger gets one JSON line per
committed transaction, written after its COMMIT:
  {"w": 7, "ch": [["t_int", [12], 7], ["t_comp", [3, "q"], null], ...]}
naming each row the transaction changed (table, key values in key order) with its state
afterwards (w, or null for deleted). No row is changed twice in one transaction, so WAL
capture (net effect per transaction) and trigger capture (every statement) report exactly
one change per listed row. A large transaction (every row of `big`, written as "big": true
instead of listing them) runs when BIG_REQUEST_FILE exists; the file is removed after its
COMMIT and its ledger line. Rolled-back transactions take no number."""
import json, os, random, signal, sqlite3, sys, time

db, ledger_path, seed, big_request = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
autocheckpoint = int(sys.argv[5]) if len(sys.argv) > 5 else 1000
rng = random.Random(seed)
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)

con = sqlite3.connect(db, timeout=10.0, isolation_level=None)
con.execute("PRAGMA busy_timeout=10000")
con.execute(f"PRAGMA wal_autocheckpoint={autocheckpoint}")
ledger = open(ledger_path, "a")
w = 0
stats = {"txns": 0, "rolled_back": 0, "busy_errors": 0, "big": 0}

def rval():
    k = rng.random()
    if k < 0.25: return rng.randint(-2**63, 2**63 - 1)
    if k < 0.45: return rng.choice([0.0, -0.0, 1.0, 0.1, 1e308, 5e-324, float("inf"), float("-inf"), rng.uniform(-1e6, 1e6)])
    if k < 0.70: return "".join(rng.choice("abcxyz \u00e9\u2603\U0001F600\x00'\"") for _ in range(rng.randint(0, 12)))
    if k < 0.85: return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 8)))
    return None

def one_change(cur, tx, touched, changes):
    """One random row change on a row not yet touched in this transaction."""
    t = rng.choice(["t_int", "t_int", "t_comp", "t_nokey"])
    op = rng.random()
    if t == "t_int":
        if op < 0.45:
            k = rng.randint(1, 3000)
            if ("t_int", (k,)) in touched: return
            cur.execute("INSERT INTO t_int(id, v, n, w) VALUES (?,?,?,?) ON CONFLICT DO NOTHING", (k, rval(), rval(), tx))
            if cur.rowcount == 1: changes.append(("t_int", (k,), tx))
            return
        row = cur.execute("SELECT id FROM t_int ORDER BY random() LIMIT 1").fetchone()
        if row is None or ("t_int", (row[0],)) in touched: return
        k = row[0]
        if op < 0.75:
            cur.execute("UPDATE t_int SET v=?, n=?, w=? WHERE id=?", (rval(), rval(), tx, k))
            changes.append(("t_int", (k,), tx))
        elif op < 0.85:  # key move: the old key is deleted, the new one inserted
            new = rng.randint(1, 3000)
            if ("t_int", (new,)) in touched: return
            cur.execute("UPDATE OR IGNORE t_int SET id=?, w=? WHERE id=?", (new, tx, k))
            if cur.rowcount == 1 and new != k:
                changes.append(("t_int", (k,), None)); changes.append(("t_int", (new,), tx))
            elif cur.rowcount == 1:
                changes.append(("t_int", (k,), tx))
        else:
            cur.execute("DELETE FROM t_int WHERE id=?", (k,))
            changes.append(("t_int", (k,), None))
    elif t == "t_comp":
        if op < 0.45:
            k = (rng.randint(1, 60), rng.choice("pqrstuvw"))
            if ("t_comp", k) in touched: return
            cur.execute("INSERT INTO t_comp(a, b, v, w) VALUES (?,?,?,?) ON CONFLICT DO NOTHING", (*k, rval(), tx))
            if cur.rowcount == 1: changes.append(("t_comp", k, tx))
            return
        row = cur.execute("SELECT a, b FROM t_comp ORDER BY random() LIMIT 1").fetchone()
        if row is None or ("t_comp", tuple(row)) in touched: return
        k = tuple(row)
        if op < 0.8:
            cur.execute("UPDATE t_comp SET v=?, w=? WHERE a=? AND b=?", (rval(), tx, *k))
            changes.append(("t_comp", k, tx))
        else:
            cur.execute("DELETE FROM t_comp WHERE a=? AND b=?", k)
            changes.append(("t_comp", k, None))
    else:
        if op < 0.45:
            cur.execute("INSERT INTO t_nokey(x, y, w) VALUES (?,?,?)", (rval(), rval(), tx))
            changes.append(("t_nokey", (cur.lastrowid,), tx))
            return
        # Never the highest rowid: an insert later in the same transaction would take it again
        # (max + 1), and the row would be changed twice in one transaction.
        row = cur.execute("SELECT rowid FROM t_nokey WHERE rowid < (SELECT max(rowid) FROM t_nokey) ORDER BY random() LIMIT 1").fetchone()
        if row is None or ("t_nokey", (row[0],)) in touched: return
        k = row[0]
        if op < 0.8:
            cur.execute("UPDATE t_nokey SET x=?, y=?, w=? WHERE rowid=?", (rval(), rval(), tx, k))
            changes.append(("t_nokey", (k,), tx))
        else:
            cur.execute("DELETE FROM t_nokey WHERE rowid=?", (k,))
            changes.append(("t_nokey", (k,), None))

while not stop:
    tx = w + 1
    cur = con.cursor()
    big = os.path.exists(big_request)
    try:
        cur.execute("BEGIN IMMEDIATE" if rng.random() < 0.5 or big else "BEGIN")
        changes, touched = [], set()
        if big:
            cur.execute("UPDATE big SET w=?, pad=?", (tx, f"big-{tx} " + "y" * 100))
        else:
            for _ in range(rng.randint(1, 12)):
                before = len(changes)
                one_change(cur, tx, touched, changes)
                touched.update((c[0], c[1]) for c in changes[before:])
        cur.execute("UPDATE ticks SET w=? WHERE id=1", (tx,))
        changes.append(("ticks", (1,), tx))
        if not big and rng.random() < 0.05:
            cur.execute("ROLLBACK")
            stats["rolled_back"] += 1
            continue
        cur.execute("COMMIT")
        w = tx
        stats["txns"] += 1
        line = {"w": w, "ch": [[t, list(k), s] for t, k, s in changes]}
        if big:
            line["big"] = True
            stats["big"] += 1
        ledger.write(json.dumps(line) + "\n"); ledger.flush()
        if big: os.remove(big_request)
    except sqlite3.OperationalError as e:
        stats["busy_errors"] += 1
        sys.stderr.write(f"writer: {e}\n")
        try: con.execute("ROLLBACK")
        except sqlite3.Error: pass
    time.sleep(rng.uniform(0.001, 0.006))
ledger.close()
con.close()
sys.stderr.write("writer: " + json.dumps(stats) + "\n")
