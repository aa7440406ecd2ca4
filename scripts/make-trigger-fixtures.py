#!/usr/bin/env python3
"""Regenerates fixtures/triggers/<case>/ for the change-table capture tests.

Each case folder holds:
  schema.sql      the source schema (and initial rows, which the first run snapshots)
  workload.sql    the service's writes; transactions are separated by a line "-- txn"
  expected.jsonl  the events a capture must produce, written from the event spec
                  (docs/events.md, the format of Sources/CDCCore/Event+JSON.swift), NOT from
                  our Swift output: this script runs every statement with Python's sqlite3
                  module (the same libsqlite3) WITHOUT triggers, and reads the affected rows
                  with typeof() before and after each statement.

Only fields that are deterministic are meaningful in expected.jsonl: lsn, ts_ms, source and
txn.id are placeholders (lsn counts from 1, ts_ms is 0, txn.id is the lsn of the group's
first event). The test runs a capture after every transaction, so one group is one source
transaction.

Usage: python3 scripts/make-trigger-fixtures.py   (stdlib only)
"""
import base64
import json
import os
import shutil
import sqlite3

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "triggers")
SOURCE = {"service": "fixture", "db": "fixture.db", "mode": "triggers"}

# ---------------------------------------------------------------- values and schemas


def value_json(v, storage):
    """The spec's JSON form of one value, checked against typeof()."""
    expected = {type(None): "null", int: "integer", float: "real", str: "text", bytes: "blob"}[type(v)]
    assert expected == storage, f"python type {type(v)} but typeof() says {storage}"
    if v is None or isinstance(v, int):
        return v
    if isinstance(v, float):
        return v  # encoded by encode_line with repr (shortest round trip)
    if isinstance(v, str):
        return v
    return {"$blob": base64.b64encode(v).decode("ascii")}


def table_schema(con, table):
    without_rowid = con.execute("SELECT wr FROM pragma_table_list WHERE schema='main' AND name=?", (table,)).fetchone()[0]
    cols = []
    for name, ctype, notnull, dflt, pk, hidden in con.execute(
            'SELECT name, type, "notnull", dflt_value, pk, hidden FROM pragma_table_xinfo(?)', (table,)):
        if hidden != 0:
            continue
        cols.append({"name": name, "type": ctype, "pk": pk, "notnull": bool(notnull), "default": dflt})
    return {"version": 1, "without_rowid": bool(without_rowid), "columns": cols}


def key_names(schema):
    keyed = sorted((c for c in schema["columns"] if c["pk"] > 0), key=lambda c: c["pk"])
    if keyed:
        return [c["name"] for c in keyed], False
    taken = {c["name"].lower() for c in schema["columns"]}
    return [next(a for a in ("rowid", "_rowid_", "oid") if a not in taken)], True


def q(name):
    return '"' + name.replace('"', '""') + '"'


def read_rows(con, table, where):
    """Rows matching `where`, in key order: (rowid or None, [(value, typeof)...])."""
    schema = table_schema(con, table)
    names, by_rowid = key_names(schema)
    cols = [c["name"] for c in schema["columns"]]
    select = ", ".join(f"{q(c)}, typeof({q(c)})" for c in cols)
    order = names[0] if by_rowid else ", ".join(q(n) for n in names)
    rowid = f"{names[0]}, " if by_rowid else ""
    sql = f"SELECT {rowid}{select} FROM {q(table)} WHERE {where} ORDER BY {order}"
    out = []
    for r in con.execute(sql):
        r = list(r)
        rid = r.pop(0) if by_rowid else None
        out.append((rid, [(r[i], r[i + 1]) for i in range(0, len(r), 2)]))
    return out


def image(schema, row):
    return {c["name"]: value_json(v, t) for c, (v, t) in zip(schema["columns"], row)}


def key_of(schema, rid, row):
    names, by_rowid = key_names(schema)
    if by_rowid:
        return {names[0]: rid}
    img = image(schema, row)
    return {n: img[n] for n in names}


def change(table, schema, op, key, before, after):
    return {"type": "change", "table": table, "op": op, "schema": schema, "key": key, "before": before, "after": after}

# ---------------------------------------------------------------- running a case


def run_case(name, schema_sql, transactions):
    folder = os.path.join(ROOT, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    con = sqlite3.connect(":memory:", isolation_level=None)
    con.executescript(schema_sql)
    events = []
    # First run: a snapshot epoch of every user table, in name order.
    tables = [r[0] for r in con.execute(
        "SELECT name FROM pragma_table_list WHERE schema='main' AND type='table' "
        "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")]
    events.append({"type": "snapshot_start", "reason": "initial", "tables": tables})
    snap = []
    for t in tables:
        schema = table_schema(con, t)
        for rid, row in read_rows(con, t, "1"):
            snap.append(change(t, schema, "snapshot", key_of(schema, rid, row), None, image(schema, row)))
    events += group(snap)
    events.append({"type": "snapshot_end", "reason": "initial", "tables": tables})

    workload = []
    for txn in transactions:
        steps, outcome = txn["steps"], txn.get("end", "COMMIT")
        explicit = len(steps) > 1 or outcome == "ROLLBACK"
        if explicit:
            con.execute("BEGIN")
        found = []
        for s in steps:
            found += run_step(con, s)
        if explicit:
            con.execute(outcome)
        if outcome == "COMMIT":
            events += group(found)
        lines = (["BEGIN;"] if explicit else []) + [s["sql"] + ";" for s in steps] + ([outcome + ";"] if explicit else [])
        workload.append("\n".join(lines))
    with open(os.path.join(folder, "schema.sql"), "w", encoding="utf-8") as f:
        f.write(schema_sql.strip() + "\n")
    with open(os.path.join(folder, "workload.sql"), "w", encoding="utf-8") as f:
        f.write("\n-- txn\n".join(workload) + "\n")
    with open(os.path.join(folder, "expected.jsonl"), "w", encoding="utf-8") as f:
        for lsn, e in enumerate(events, start=1):
            f.write(encode_line(lsn, e, events) + "\n")


def run_step(con, s):
    table, op = s["table"], s["op"]
    schema = table_schema(con, table)
    _, by_rowid = key_names(schema)
    before = read_rows(con, table, s["before"]) if op in ("update", "delete") else []
    con.execute(s["sql"])
    changed = con.execute("SELECT changes()").fetchone()[0]
    after = read_rows(con, table, s["after"]) if op in ("insert", "update") else []
    out = []
    if op == "insert":
        assert changed == len(after), (s, changed, after)
        out = [change(table, schema, "insert", key_of(schema, rid, row), None, image(schema, row)) for rid, row in after]
    elif op == "delete":
        assert changed == len(before), (s, changed, before)
        out = [change(table, schema, "delete", key_of(schema, rid, row), image(schema, row), None) for rid, row in before]
    else:
        assert changed == len(before) == len(after), (s, changed, before, after)
        for (rid0, row0), (rid1, row1) in zip(before, after):
            if by_rowid and rid0 != rid1:
                # The rowid is not in the images: a rowid move is a delete plus an insert.
                out.append(change(table, schema, "delete", key_of(schema, rid0, row0), image(schema, row0), None))
                out.append(change(table, schema, "insert", key_of(schema, rid1, row1), None, image(schema, row1)))
            else:
                # The key of an update is the BEFORE key (a primary-key update moves the row).
                out.append(change(table, schema, "update", key_of(schema, rid0, row0), image(schema, row0), image(schema, row1)))
    return out


def group(changes):
    for i, c in enumerate(changes):
        c["txn_index"] = i
        c["txn_last"] = i == len(changes) - 1
    return changes


def encode_line(lsn, e, events):
    """One event line in the field order of spec v1."""
    parts = [f'"v":1', f'"lsn":{lsn}', f'"type":{dump(e["type"])}', f'"source":{dump(SOURCE)}', '"ts_ms":0']
    if e["type"] == "change":
        first = lsn - e["txn_index"]
        parts.append(f'"txn":{{"id":{first},"index":{e["txn_index"]},"last":{"true" if e["txn_last"] else "false"}}}')
        parts += [f'"table":{dump(e["table"])}', f'"op":{dump(e["op"])}', f'"schema":{dump(e["schema"])}',
                  f'"key":{dump(e["key"])}', f'"before":{dump(e["before"])}', f'"after":{dump(e["after"])}',
                  f'"version":{lsn}']
    else:
        start = lsn if e["type"] == "snapshot_start" else next(
            i for i in range(lsn, 0, -1) if events[i - 1]["type"] == "snapshot_start")
        parts += [f'"epoch":{start}', f'"reason":{dump(e["reason"])}', f'"tables":{dump(e["tables"])}']
    return "{" + ",".join(parts) + "}"


def dump(v):
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            return json.dumps({"$real": "nan" if v != v else ("inf" if v > 0 else "-inf")})
        r = repr(v)
        return r if ("." in r or "e" in r) else r + ".0"
    if isinstance(v, bool) or v is None or isinstance(v, int):
        return json.dumps(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ",".join(dump(x) for x in v) + "]"
    return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{dump(x)}" for k, x in v.items()) + "}"

# ---------------------------------------------------------------- the cases


def ins(table, sql, after):
    return {"table": table, "op": "insert", "sql": sql, "after": after}


def upd(table, sql, before, after):
    return {"table": table, "op": "update", "sql": sql, "before": before, "after": after}


def dele(table, sql, before):
    return {"table": table, "op": "delete", "sql": sql, "before": before}


def one(step):
    return {"steps": [step]}


CASES = {}

CASES["storage-classes"] = ("""
CREATE TABLE vals(id INTEGER PRIMARY KEY, v, r REAL, i INTEGER, t TEXT, b BLOB);
""", [
    one(ins("vals", "INSERT INTO vals(id, v) VALUES (1, -9223372036854775808)", "id = 1")),
    one(ins("vals", "INSERT INTO vals(id, v) VALUES (2, 9223372036854775807)", "id = 2")),
    one(ins("vals", "INSERT INTO vals(id, v, i) VALUES (3, 9007199254740993, 9007199254740993)", "id = 3")),
    one(ins("vals", "INSERT INTO vals(id, v, r) VALUES (4, -0.0, -0.0)", "id = 4")),
    one(ins("vals", "INSERT INTO vals(id, v, r) VALUES (5, 1e308, 5e-324)", "id = 5")),
    one(ins("vals", "INSERT INTO vals(id, v, r) VALUES (6, 5e-324, 0.1)", "id = 6")),
    one(ins("vals", "INSERT INTO vals(id, v, t, b) VALUES (7, '', '', x'')", "id = 7")),
    one(ins("vals", "INSERT INTO vals(id, v, t) VALUES (8, 'a' || char(0) || 'b', 'nul' || char(0))", "id = 8")),
    one(ins("vals", "INSERT INTO vals(id, v, t) VALUES (9, '😀𝄞', 'ünï 😀')", "id = 9")),
    one(ins("vals", "INSERT INTO vals(id, v, b) VALUES (10, x'00ff10', x'deadbeef')", "id = 10")),
    one(ins("vals", "INSERT INTO vals(id, v, i, r, t) VALUES (11, NULL, '12', '2.5', 42)", "id = 11")),
    one(ins("vals", "INSERT INTO vals(id, v, i, r) VALUES (12, 3.0, 1.5, 7)", "id = 12")),
    one(upd("vals", "UPDATE vals SET v = x'01', t = 'x' WHERE id = 1", "id = 1", "id = 1")),
    one(upd("vals", "UPDATE vals SET v = 1.0 WHERE id = 2", "id = 2", "id = 2")),
    one(upd("vals", "UPDATE vals SET v = '1' WHERE id = 3", "id = 3", "id = 3")),
    one(dele("vals", "DELETE FROM vals WHERE id IN (4, 5)", "id IN (4, 5)")),
])

CASES["composite-key"] = ("""
CREATE TABLE line(order_id INTEGER, line_no INTEGER, qty INTEGER, note TEXT, PRIMARY KEY(order_id, line_no));
INSERT INTO line VALUES (1, 1, 5, 'first'), (1, 2, 1, NULL);
""", [
    one(ins("line", "INSERT INTO line VALUES (2, 1, 3, 'x')", "order_id = 2")),
    one(upd("line", "UPDATE line SET qty = qty + 1 WHERE order_id = 1 AND line_no = 2", "order_id = 1 AND line_no = 2", "order_id = 1 AND line_no = 2")),
    one(upd("line", "UPDATE line SET line_no = 9 WHERE order_id = 2 AND line_no = 1", "order_id = 2 AND line_no = 1", "order_id = 2 AND line_no = 9")),
    one(dele("line", "DELETE FROM line WHERE order_id = 1", "order_id = 1")),
])

CASES["primary-key-update"] = ("""
CREATE TABLE acct(id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE tag(code TEXT PRIMARY KEY, label TEXT) WITHOUT ROWID;
INSERT INTO acct VALUES (1, 'ann');
INSERT INTO tag VALUES ('a', 'Alpha');
""", [
    one(upd("acct", "UPDATE acct SET id = 100 WHERE id = 1", "id = 1", "id = 100")),
    one(upd("tag", "UPDATE tag SET code = 'b', label = 'Beta' WHERE code = 'a'", "code = 'a'", "code = 'b'")),
    one(upd("acct", "UPDATE acct SET id = 7, name = 'bob' WHERE id = 100", "id = 100", "id = 7")),
])

CASES["without-rowid"] = ("""
CREATE TABLE kv(k TEXT PRIMARY KEY, v) WITHOUT ROWID;
CREATE TABLE pair(a INTEGER, b BLOB, v REAL, PRIMARY KEY(b, a)) WITHOUT ROWID;
INSERT INTO kv VALUES ('seed', 1);
""", [
    one(ins("kv", "INSERT INTO kv VALUES ('a', 1.5)", "k = 'a'")),
    one(ins("pair", "INSERT INTO pair VALUES (1, x'01', 2.25)", "a = 1")),
    one(upd("kv", "UPDATE kv SET v = x'00' WHERE k = 'seed'", "k = 'seed'", "k = 'seed'")),
    one(upd("pair", "UPDATE pair SET v = -1e-300 WHERE a = 1", "a = 1", "a = 1")),
    one(dele("kv", "DELETE FROM kv WHERE k = 'a'", "k = 'a'")),
])

CASES["odd-names"] = ("""
CREATE TABLE "order"("select" INTEGER PRIMARY KEY, "from" TEXT);
CREATE TABLE "a""b"("x y" TEXT PRIMARY KEY, "q""t" INTEGER) WITHOUT ROWID;
CREATE TABLE "Order Items"("order" INTEGER, "line" INTEGER, "ünï" TEXT, PRIMARY KEY("order", "line"));
CREATE TABLE "ünï"("😀" TEXT, rowid TEXT);
INSERT INTO "order" VALUES (1, 'seed');
""", [
    one(ins("order", 'INSERT INTO "order" VALUES (2, \'two\')', '"select" = 2')),
    one(ins("a\"b", 'INSERT INTO "a""b" VALUES (\'k 1\', 5)', '"x y" = \'k 1\'')),
    one(ins("Order Items", 'INSERT INTO "Order Items" VALUES (1, 1, \'é\')', '"order" = 1')),
    one(ins("ünï", 'INSERT INTO "ünï" VALUES (\'smile\', \'not the rowid\')', '"😀" = \'smile\'')),
    one(upd("order", 'UPDATE "order" SET "from" = \'x"y\' WHERE "select" = 1', '"select" = 1', '"select" = 1')),
    one(upd("a\"b", 'UPDATE "a""b" SET "q""t" = 6 WHERE "x y" = \'k 1\'', '"x y" = \'k 1\'', '"x y" = \'k 1\'')),
    one(upd("ünï", 'UPDATE "ünï" SET "😀" = \'grin\'', '1', '1')),
    one(dele("Order Items", 'DELETE FROM "Order Items"', '1')),
    one(dele("ünï", 'DELETE FROM "ünï"', '1')),
])

CASES["multi-statement-transaction"] = ("""
CREATE TABLE customer(id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE orders(id INTEGER PRIMARY KEY, customer_id INTEGER, total REAL);
""", [
    {"steps": [
        ins("customer", "INSERT INTO customer VALUES (1, 'ann')", "id = 1"),
        ins("orders", "INSERT INTO orders VALUES (10, 1, 9.5), (11, 1, 0.5)", "id IN (10, 11)"),
        upd("customer", "UPDATE customer SET name = 'Ann' WHERE id = 1", "id = 1", "id = 1"),
        dele("orders", "DELETE FROM orders WHERE id = 11", "id = 11"),
    ]},
    one(upd("orders", "UPDATE orders SET total = total * 2", "1", "1")),
    {"steps": [
        ins("customer", "INSERT INTO customer VALUES (2, 'bob')", "id = 2"),
        upd("orders", "UPDATE orders SET customer_id = 2 WHERE id = 10", "id = 10", "id = 10"),
    ]},
])

CASES["rolled-back-transaction"] = ("""
CREATE TABLE item(id INTEGER PRIMARY KEY, v TEXT);
""", [
    {"steps": [
        ins("item", "INSERT INTO item VALUES (1, 'never')", "id = 1"),
        upd("item", "UPDATE item SET v = 'gone' WHERE id = 1", "id = 1", "id = 1"),
    ], "end": "ROLLBACK"},
    one(ins("item", "INSERT INTO item VALUES (2, 'kept')", "id = 2")),
    {"steps": [dele("item", "DELETE FROM item", "1")], "end": "ROLLBACK"},
])

CASES["delete-reinsert-same-key"] = ("""
CREATE TABLE slot(k TEXT PRIMARY KEY, v INTEGER);
INSERT INTO slot VALUES ('a', 1);
""", [
    one(dele("slot", "DELETE FROM slot WHERE k = 'a'", "k = 'a'")),
    one(ins("slot", "INSERT INTO slot VALUES ('a', 2)", "k = 'a'")),
    {"steps": [
        dele("slot", "DELETE FROM slot WHERE k = 'a'", "k = 'a'"),
        ins("slot", "INSERT INTO slot VALUES ('a', 3)", "k = 'a'"),
    ]},
    one(ins("slot", "INSERT OR REPLACE INTO slot VALUES ('b', 4)", "k = 'b'")),
])

CASES["no-declared-key"] = ("""
CREATE TABLE note(body TEXT, n);
INSERT INTO note(rowid, body, n) VALUES (5, 'seed', 1);
""", [
    one(ins("note", "INSERT INTO note(rowid, body, n) VALUES (6, 'x', 2.5)", "rowid = 6")),
    one(upd("note", "UPDATE note SET n = n + 1 WHERE rowid = 5", "rowid = 5", "rowid = 5")),
    one(upd("note", "UPDATE note SET rowid = 60 WHERE rowid = 6", "rowid = 6", "rowid = 60")),
    one(dele("note", "DELETE FROM note WHERE rowid = 5", "rowid = 5")),
])


def main():
    os.makedirs(ROOT, exist_ok=True)
    for name, (schema_sql, transactions) in CASES.items():
        run_case(name, schema_sql, transactions)
        print("wrote", os.path.relpath(os.path.join(ROOT, name)))


if __name__ == "__main__":
    main()
