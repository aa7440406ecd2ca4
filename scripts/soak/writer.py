#!/usr/bin/env python3
"""Random writer: small transactions (1-20 row changes) on three tables.
Ledger (JSON, atomically replaced after every commit): committed txns, row changes, rollbacks."""
import sqlite3, random, sys, os, json, signal, time

db, ledger, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(seed)
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)

con = sqlite3.connect(db, timeout=5.0, isolation_level=None)
con.execute("PRAGMA busy_timeout=5000")
st = {"txns": 0, "row_changes": 0, "rolled_back": 0, "busy_errors": 0,
      "by_table": {"t_int": 0, "t_comp": 0, "t_nokey": 0}}

def rval():
    k = rng.random()
    if k < 0.25: return rng.randint(-2**63, 2**63 - 1)
    if k < 0.45: return rng.choice([0.0, -0.0, 1.0, 0.1, 1e308, 5e-324, float('inf'), float('-inf'), rng.uniform(-1e6, 1e6)])
    if k < 0.70: return "".join(rng.choice("abcxyz \u00e9\u2603\U0001F600\x00'\"") for _ in range(rng.randint(0, 12)))
    if k < 0.85: return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 8)))
    return None

def write_ledger():
    tmp = ledger + ".tmp"
    with open(tmp, "w") as f: json.dump(st, f)
    os.replace(tmp, ledger)

def one_change(cur):
    """Performs one random row change; returns (table, rows changed)."""
    t = rng.choice(["t_int", "t_comp", "t_nokey"])
    op = rng.random()
    if t == "t_int":
        if op < 0.45:
            cur.execute("INSERT INTO t_int(id, v, n) VALUES (?,?,?) ON CONFLICT DO NOTHING", (rng.randint(1, 3000), rval(), rval()))
        elif op < 0.75:
            cur.execute("UPDATE t_int SET v=?, n=? WHERE id=(SELECT id FROM t_int ORDER BY random() LIMIT 1)", (rval(), rval()))
        elif op < 0.82:  # key move
            cur.execute("UPDATE OR IGNORE t_int SET id=? WHERE id=(SELECT id FROM t_int ORDER BY random() LIMIT 1)", (rng.randint(1, 3000),))
        else:
            cur.execute("DELETE FROM t_int WHERE id=(SELECT id FROM t_int ORDER BY random() LIMIT 1)")
    elif t == "t_comp":
        if op < 0.45:
            cur.execute("INSERT INTO t_comp(a, b, v) VALUES (?,?,?) ON CONFLICT DO NOTHING", (rng.randint(1, 60), rng.choice("pqrstuvw"), rval()))
        elif op < 0.75:
            cur.execute("UPDATE t_comp SET v=? WHERE (a,b)=(SELECT a,b FROM t_comp ORDER BY random() LIMIT 1)", (rval(),))
        elif op < 0.82:  # key move
            cur.execute("UPDATE OR IGNORE t_comp SET b=? WHERE (a,b)=(SELECT a,b FROM t_comp ORDER BY random() LIMIT 1)", (rng.choice("pqrstuvw"),))
        else:
            cur.execute("DELETE FROM t_comp WHERE (a,b)=(SELECT a,b FROM t_comp ORDER BY random() LIMIT 1)")
    else:
        if op < 0.45:
            cur.execute("INSERT INTO t_nokey(x, y) VALUES (?,?)", (rval(), rval()))
        elif op < 0.80:
            cur.execute("UPDATE t_nokey SET x=?, y=? WHERE rowid=(SELECT rowid FROM t_nokey ORDER BY random() LIMIT 1)", (rval(), rval()))
        else:
            cur.execute("DELETE FROM t_nokey WHERE rowid=(SELECT rowid FROM t_nokey ORDER BY random() LIMIT 1)")
    return t, max(cur.rowcount, 0)

write_ledger()
while not stop:
    n = rng.randint(1, 20)
    cur = con.cursor()
    try:
        cur.execute("BEGIN IMMEDIATE" if rng.random() < 0.5 else "BEGIN")
        changes, per = 0, {}
        for _ in range(n):
            t, c = one_change(cur)
            changes += c
            per[t] = per.get(t, 0) + c
        if rng.random() < 0.05:
            cur.execute("ROLLBACK")
            st["rolled_back"] += 1
        else:
            cur.execute("COMMIT")
            st["txns"] += 1
            st["row_changes"] += changes
            for k, v in per.items(): st["by_table"][k] += v
        write_ledger()
    except sqlite3.OperationalError as e:
        st["busy_errors"] += 1
        sys.stderr.write(f"writer: {e}\n")
        try: con.execute("ROLLBACK")
        except sqlite3.Error: pass
        write_ledger()
    time.sleep(rng.uniform(0.001, 0.01))
write_ledger()
con.close()
