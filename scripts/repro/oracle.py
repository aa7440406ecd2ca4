#!/usr/bin/env python3
"""Independent check of an event log against its source: replays every event (per docs/events.md)
into memory and compares each source table, as a multiset of rows by column name, value and
storage class. Independent of cdc-sink/replica-check (so schema changes the sink refuses can
still be checked). Also checks LSNs are consecutive and strictly increasing.
usage: oracle.py EVENTS.db SOURCE.db   (exit 0 equal, 1 different)"""
import os, sys, json, sqlite3, struct, base64, collections

def canon(v):
    if v is None: return ("n",)
    if isinstance(v, bool): raise ValueError("bool in event")
    if isinstance(v, int): return ("i", v)
    if isinstance(v, float): return ("r", struct.pack("<d", v))
    if isinstance(v, str): return ("t", v.encode("utf-8", "surrogatepass"))
    if "$blob" in v: return ("b", base64.b64decode(v["$blob"]))
    if "$text" in v: return ("t", base64.b64decode(v["$text"]))
    if "$real" in v: return ("r", struct.pack("<d", float(v["$real"])))
    raise ValueError(v)

def replay(log):
    c = sqlite3.connect(f"file:{log}?mode=ro", uri=True)
    tables = collections.defaultdict(dict)   # name -> key -> (version, row dict)
    last = 0; problems = []
    epoch_seen = None
    schemas = {}
    refs = {}
    if c.execute("SELECT count(*) FROM sqlite_schema WHERE name='cdc_schemas'").fetchone()[0]:
        refs = {i: json.loads(j) for i, j in c.execute("SELECT id, json FROM cdc_schemas")}
    for lsn, ev in c.execute("SELECT lsn, event FROM cdc_events ORDER BY lsn"):
        e = json.loads(ev)
        if isinstance(e.get("schema"), dict) and "$ref" in e["schema"]: e["schema"] = refs[e["schema"]["$ref"]]
        if lsn != last + 1 and last != 0: problems.append(f"LSN gap {last} -> {lsn}")
        last = lsn
        t = e["type"]
        if t == "snapshot_start":
            epoch_seen = {n: set() for n in e.get("tables", [])} if "tables" in e else {}
            epoch_lsn = e["lsn"]
            continue
        if t == "snapshot_end":
            for name, keys in (epoch_seen or {}).items():
                for k in list(tables[name]):
                    if k not in keys and tables[name][k][0] < epoch_lsn: del tables[name][k]
            epoch_seen = None
            continue
        if t == "schema":
            if e["change"] in ("drop", "rename"):
                for k in list(tables[e["previous"]]):
                    if tables[e["previous"]][k][0] < lsn: del tables[e["previous"]][k]
            continue
        if t != "change": continue
        name = e["table"]; schemas[name] = e["schema"]; key = json.dumps(e["key"], sort_keys=True)
        op = e["op"]
        if op == "snapshot" and epoch_seen is not None:
            epoch_seen.setdefault(name, set()).add(key)
        if op == "delete":
            tables[name].pop(key, None)
        elif op == "update":
            a = e["after"]; tables[name].pop(key, None)
            cols = [col for col in e["schema"]["columns"] if col["pk"]]
            newkey = key
            if "rowid" not in e["key"] and "_rowid_" not in e["key"] and "oid" not in e["key"]:
                newkey = json.dumps({k: a[k] for k in e["key"]}, sort_keys=True)
            tables[name][newkey] = (lsn, a)
        else:
            tables[name][key] = (lsn, e["after"])
    return tables, problems, last, schemas

def default_value(sql):
    if sql is None: return None
    return sqlite3.connect(":memory:").execute(f"SELECT {sql}").fetchone()[0]

def source_rows(db, name):
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    cols = [r[1] for r in c.execute("SELECT * FROM pragma_table_xinfo(?)", (name,)) if r[6] == 0]
    c.text_factory = bytes
    q = ", ".join(f'typeof("{x.replace(chr(34), chr(34)*2)}"), "{x.replace(chr(34), chr(34)*2)}"' for x in cols)
    out = collections.Counter()
    for r in c.execute(f'SELECT {q} FROM "{name.replace(chr(34), chr(34)*2)}"'):
        row = []
        for i, col in enumerate(cols):
            ty, v = r[2*i], r[2*i+1]
            if ty == b"null" or ty == "null": row.append((col, ("n",)))
            elif ty in ("integer", b"integer"): row.append((col, ("i", v)))
            elif ty in ("real", b"real"): row.append((col, ("r", struct.pack("<d", v))))
            elif ty in ("text", b"text"): row.append((col, ("t", bytes(v))))
            else: row.append((col, ("b", bytes(v))))
        out[tuple(row)] += 1
    return cols, out

def compare(log, db, quiet=False):
    tables, problems, last, schemas = replay(log)
    s = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    names = [r[0] for r in s.execute("SELECT name FROM sqlite_schema WHERE type='table' AND name NOT LIKE 'sqlite_%' AND rootpage>0")]
    virtual = set(r[0] for r in s.execute("SELECT name FROM sqlite_schema WHERE type='table' AND sql LIKE 'CREATE VIRTUAL%'"))
    shadow = set(n for n in names for v in virtual if n.startswith(v + "_"))
    for name in names:
        if name in shadow: continue
        cols, src = source_rows(db, name)
        got = collections.Counter()
        dflt = {c["name"]: c["default"] for c in schemas.get(name, {}).get("columns", [])}
        for k, (ver, row) in tables.get(name, {}).items():
            # a column the row's event lacks takes the newest schema's DEFAULT (what the sink does)
            got[tuple((c, canon(row.get(c))) if c in row else (c, canon(default_value(dflt[c])) if c in dflt else ("MISSING",)) for c in cols)] += 1
        if src != got:
            miss = src - got; extra = got - src
            problems.append(f"table {name!r}: {sum(miss.values())} source rows not in the log's replay, {sum(extra.values())} replayed rows not in the source"
                            + (f"; e.g. missing {list(miss)[0]!r:.300}" if miss else "") + (f"; e.g. extra {list(extra)[0]!r:.300}" if extra else ""))
    for name in tables:
        if name not in names and tables[name] and os.environ.get("ORACLE_IGNORE_DROPPED") != "1":
            problems.append(f"log has {len(tables[name])} live rows for table {name!r} that the source does not have")
    if not quiet:
        for p in problems: print("ORACLE:", p)
        print(f"ORACLE: {'EQUAL' if not problems else 'DIFFERENT'} (last LSN {last})")
    return not problems

if __name__ == "__main__":
    sys.exit(0 if compare(sys.argv[1], sys.argv[2]) else 1)
