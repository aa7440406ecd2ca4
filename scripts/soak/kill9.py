#!/usr/bin/env python3
"""SIGKILL fault-injection harness for sqlite-cdc (cdc-agent / cdc-sink / replica-check), in WAL
mode and in trigger mode.

A writer process (writer.py) keeps committing and keeps a ledger of every committed change
(table, key, the writer's transaction number w stamped in the row, or deleted), while the agent
and the sink are killed with SIGKILL and restarted, for --trials trials per mode. Each trial
picks a kill point: a random moment, or a named fault point (CDC_FAULT_KILL_AT, see
Sources/CDCCore/FaultPoint.swift and docs/operations.md) inside
  snapshot.batch          a snapshot epoch between batches (a sink's snapshot request forces one)
  resync.batch            a resync epoch between batches (forced: WAL mode, a TRUNCATE checkpoint
                          while the agent is down; trigger mode, a change row taken away)
  txn.batch               the append of a transaction larger than a batch (the writer commits
                          one over every row of `big`, --big-rows rows)
  wal.barrier.held / wal.barrier.read / wal.barrier.checkpoint
                          WAL mode: the agent's barrier and checkpoint cycle
  changetable.delete      trigger mode: between the append and the change-table delete
  sink.apply / sink.commit  a sink batch before its commit / after it, before its acknowledgement
and the initial snapshot of each mode is killed too. Afterwards, per mode:
  * the log holds every committed change exactly once, in order, per key (row version), against
    the writer's ledger; a change may be missing from the stream only where a resync epoch
    follows it (the epoch's snapshot rows carry the state); snapshot rows are allowed in epochs;
  * LSNs are consecutive, events decode, transaction groups are well formed;
  * a Python replay of the log equals the source; replica-check (the binary) is consistent.
Prints the counts (trials, kills per point, events, duplicates seen and harmless, failures)
as JSON and exits 1 on any failure, 0 otherwise.

usage: scripts/soak/kill9.py [--mode wal|triggers|both] [--trials N] [--seed S] [--dir D]
                             [--bin DIR] [--big-rows N] [--point-timeout SECONDS] [--max-seconds T]
                             [--wal-autocheckpoint N]
--trials counts per mode. Build first (swift build -c release; --bin defaults to .build/release)."""
import argparse, glob, json, os, random, re, signal, sqlite3, struct, subprocess, sys, time, base64

HERE = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--mode", choices=["wal", "triggers", "both"], default="both")
ap.add_argument("--trials", type=int, default=30, help="trials per mode")
ap.add_argument("--seed", type=int, default=None)
ap.add_argument("--dir", default=None)
ap.add_argument("--bin", default=os.path.join(HERE, "..", "..", ".build", "release"))
ap.add_argument("--big-rows", type=int, default=20000, help="rows of table big: the large transaction and the snapshot size")
ap.add_argument("--point-timeout", type=float, default=8.0, help="seconds an armed process gets to reach its fault point")
ap.add_argument("--wal-autocheckpoint", type=int, default=0,
                help="the writer's wal_autocheckpoint in WAL mode (0: off, the default; then every resync epoch must be a forced one. "
                     "SQLite's default 1000 makes the service checkpoint past the agent's position while it is down: expected resyncs)")
ap.add_argument("--max-seconds", type=float, default=3600, help="no new trial starts after this (whole run)")
ap.add_argument("--exclude", action="append", default=[], metavar="MODE:POINT",
                help="leave a trial kind out of one mode (repeatable), e.g. triggers:resync.batch")
args = ap.parse_args()
seed = args.seed if args.seed is not None else random.randrange(1, 10**6)
BASE = args.dir or os.path.join(os.environ.get("TMPDIR", "/tmp"), f"cdc-kill9-{seed}")
B = os.path.abspath(args.bin)
T0 = time.time()

POINTS = {
    "wal": ["random", "random", "snapshot.batch", "resync.batch", "txn.batch", "wal.barrier.held",
            "wal.barrier.read", "wal.barrier.checkpoint", "sink.apply", "sink.commit"],
    "triggers": ["random", "random", "snapshot.batch", "resync.batch", "txn.batch", "changetable.delete",
                 "sink.apply", "sink.commit"],
}
for item in args.exclude:
    mode, _, point = item.partition(":")
    if mode not in POINTS or point not in POINTS[mode]:
        sys.exit(f"kill9.py: --exclude {item}: not a MODE:POINT of {POINTS}")
    POINTS[mode] = [p for p in POINTS[mode] if p != point]


class ModeRun:
    """One mode's run: a fresh source, its log and replica, trials, then the checks."""

    def __init__(self, mode, d, rng):
        self.mode, self.d, self.rng = mode, d, rng
        os.makedirs(d, exist_ok=True)
        for f in glob.glob(os.path.join(d, "*")): os.remove(f)
        self.SRC, self.LOG, self.REP = (os.path.join(d, n) for n in ("src.db", "ev.db", "r.db"))
        self.LEDGER, self.BIGREQ = os.path.join(d, "ledger.jsonl"), os.path.join(d, "big-request")
        self.actions = open(os.path.join(d, "actions.log"), "w")
        self.procs, self.counter = {}, {"agent": 0, "sink": 0}
        self.kills = {}            # point -> SIGKILLs that landed there (random: by the harness)
        self.not_reached = {}      # point -> armed processes that never reached it in time
        self.forced = {"big_txns": 0, "resync_setups": 0, "snapshot_requests": 0}
        self.resync_setup_lsns = []  # the log's last LSN when a resync was forced
        self.failures, self.unexpected = [], []
        self.writer = None

    def note(self, msg):
        line = f"[{time.time() - T0:7.2f}] {self.mode}: {msg}"
        self.actions.write(line + "\n"); self.actions.flush()
        print(line, flush=True)

    def count(self, table, point):
        table[point] = table.get(point, 0) + 1

    # ---------- processes ----------
    def start(self, name, extra=(), arm=None):
        self.counter[name] += 1
        logp = os.path.join(self.d, f"{name}-{self.counter[name]:04d}.log")
        if name == "agent":
            argv = [f"{B}/cdc-agent", "run", "--db", self.SRC, "--log", self.LOG, "--mode", self.mode, *extra]
        else:
            argv = [f"{B}/cdc-sink", "--log", self.LOG, "--replica", self.REP, *extra]
        env = dict(os.environ)
        env.pop("CDC_FAULT_KILL_AT", None)
        if arm: env["CDC_FAULT_KILL_AT"] = arm
        if arm and arm.startswith("wal.barrier."): env["CDC_LOG_LEVEL"] = "debug"   # says why a point was not reached
        with open(logp, "w") as lf:
            lf.write(f"# CDC_FAULT_KILL_AT={arm or ''} " + " ".join(argv) + "\n"); lf.flush()
            p = subprocess.Popen(argv, stdout=lf, stderr=subprocess.STDOUT, env=env)
        self.procs[name] = (p, logp)
        self.note(f"start {name} pid={p.pid} {' '.join(extra)} {'armed ' + arm if arm else ''}")
        return p

    def check_alive(self, name):
        if name not in self.procs: return
        p, logp = self.procs[name]
        if p.poll() is not None:
            self.procs.pop(name)
            self.unexpected.append((name, p.returncode, os.path.basename(logp)))
            self.note(f"!! {name} exited by itself rc={p.returncode}: {open(logp).read()[-400:]!r}")

    def kill9(self, name, point="random"):
        if name not in self.procs: return
        p, logp = self.procs.pop(name)
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL); p.wait()
            self.count(self.kills, f"{point}({name})")
            self.note(f"kill -9 {name} pid={p.pid}")
        else:
            self.unexpected.append((name, p.returncode, os.path.basename(logp)))
            self.note(f"!! {name} had already exited rc={p.returncode}")

    def armed_run(self, name, point, extra=(), timeout=None):
        """Starts `name` armed at `point`:n and waits for it to kill itself there; kills it when it
        does not get there within --point-timeout. Returns whether the point was reached."""
        if name in self.procs: self.kill9(name)
        # The barrier cycle comes every 1,000 frames or so: the 3rd one can be far off.
        n = self.rng.randint(1, 2 if point.startswith("wal.barrier.") else 3)
        p = self.start(name, extra, arm=f"{point}:{n}")
        try:
            rc = p.wait(timeout=timeout or args.point_timeout)
        except subprocess.TimeoutExpired:
            self.kill9(name, "timeout")
            self.count(self.not_reached, point)
            self.note(f"{point}:{n} not reached within {timeout or args.point_timeout}s")
            return False
        self.procs.pop(name, None)
        if rc == -signal.SIGKILL:
            self.count(self.kills, point)
            self.note(f"{name} killed itself at {point}:{n}")
            return True
        self.unexpected.append((name, rc, f"{name}-{self.counter[name]:04d}.log"))
        self.note(f"!! armed {name} exited rc={rc}")
        return False

    def log_query(self, sql, params=()):
        for _ in range(50):
            try:
                c = sqlite3.connect(f"file:{self.LOG}?mode=ro", uri=True, timeout=5)
                try: return c.execute(sql, params).fetchall()
                finally: c.close()
            except sqlite3.OperationalError:
                time.sleep(0.1)
        return []

    def agent_opts(self):
        k = self.rng.random()
        if k < 0.6: return []
        return ["--batch-size", str(self.rng.choice([200, 1000, 3000]))]

    # ---------- phases ----------
    def setup(self):
        con = sqlite3.connect(self.SRC, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.executescript("""
        CREATE TABLE t_int(id INTEGER PRIMARY KEY, v, n REAL, w INTEGER);
        CREATE TABLE t_comp(a INTEGER NOT NULL, b TEXT NOT NULL, v, w INTEGER, PRIMARY KEY(a, b)) WITHOUT ROWID;
        CREATE TABLE t_nokey(x, y, w INTEGER);
        CREATE TABLE big(id INTEGER PRIMARY KEY, pad TEXT, w INTEGER);
        CREATE TABLE ticks(id INTEGER PRIMARY KEY, w INTEGER);
        """)
        # The service keeps a connection open, as a service does: closing the last one would
        # checkpoint and delete the WAL, which is a loss of continuity for a stopped agent.
        self.holder = sqlite3.connect(self.SRC, timeout=10)
        self.holder.execute("SELECT count(*) FROM ticks").fetchall()
        con.execute("BEGIN")
        for i in range(1, 1201): con.execute("INSERT INTO t_int VALUES (?,?,?,0)", (i, f"v{i}", self.rng.random()))
        for a in range(1, 41):
            for b in "pqrs": con.execute("INSERT INTO t_comp VALUES (?,?,?,0)", (a, b, self.rng.randint(0, 10**9)))
        for i in range(600): con.execute("INSERT INTO t_nokey VALUES (?,?,0)", (self.rng.random(), f"y{i}"))
        con.executemany("INSERT INTO big VALUES (?,?,0)", ((i, f"row {i} " + "x" * 100) for i in range(1, args.big_rows + 1)))
        con.execute("INSERT INTO ticks VALUES (1, 0)")
        con.execute("COMMIT"); con.close()
        if self.mode == "triggers":
            r = subprocess.run([f"{B}/cdc-agent", "install", "--db", self.SRC], capture_output=True, text=True)
            self.note(f"install rc={r.returncode} {r.stderr.strip()[:300]}")
            if r.returncode != 0: raise SystemExit("install failed")
        # The initial snapshot, killed inside it first (small batches: several per table).
        for _ in range(self.rng.randint(1, 2)):
            self.armed_run("agent", "snapshot.batch", ["--batch-size", "2000"])
        self.start("agent", self.agent_opts())
        deadline = time.time() + 300
        while time.time() < deadline:
            if os.path.exists(self.LOG) and self.log_query("SELECT 1 FROM cdc_events WHERE type='snapshot_end' LIMIT 1"): break
            self.check_alive("agent")
            if "agent" not in self.procs: self.start("agent")
            time.sleep(0.05)
        else:
            self.failures.append("the initial snapshot epoch did not finish within 300 s")
        self.note("initial epoch done")
        self.writer = subprocess.Popen([sys.executable, os.path.join(HERE, "writer.py"), self.SRC, self.LEDGER,
                                        str(self.rng.randrange(10**9)), self.BIGREQ,
                                        str(args.wal_autocheckpoint if self.mode == "wal" else 1000)],
                                       stderr=open(os.path.join(self.d, "writer.log"), "w"))
        self.start("sink", ["--follow"])

    def request_big(self):
        """Has the writer commit its large transaction; waits until it did."""
        open(self.BIGREQ, "w").close()
        deadline = time.time() + 60
        while os.path.exists(self.BIGREQ) and time.time() < deadline: time.sleep(0.02)
        self.forced["big_txns"] += 1

    def force_resync(self):
        """With the agent down, makes the source lose what the agent has not read."""
        self.kill9("agent")
        time.sleep(self.rng.uniform(0.1, 0.4))     # the writer commits meanwhile
        c = sqlite3.connect(self.SRC, isolation_level=None, timeout=10)
        try:
            if self.mode == "wal":
                c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            else:
                # A change row taken by "someone else": the next one no longer continues the
                # consumed position (the highest row stays: the sequence must not go back).
                c.execute("""DELETE FROM _cdc_changes WHERE seq = (SELECT min(seq) FROM _cdc_changes
                             WHERE seq > (SELECT value FROM _cdc_meta WHERE key='consumed_seq'))
                             AND seq < (SELECT max(seq) FROM _cdc_changes)""")
            self.forced["resync_setups"] += 1
            self.resync_setup_lsns.append(self.log_query("SELECT max(lsn) FROM cdc_events")[0][0])
        except sqlite3.OperationalError as e:
            self.note(f"resync set-up failed: {e}")
        finally:
            c.close()

    def trial(self, t):
        point = self.rng.choice(POINTS[self.mode])
        self.note(f"--- trial {t}: {point}")
        self.check_alive("agent"); self.check_alive("sink")
        if self.writer.poll() is not None:
            self.failures.append(f"writer died rc={self.writer.returncode}"); return False
        if point == "random":
            if "agent" not in self.procs: self.start("agent", self.agent_opts())
            if "sink" not in self.procs: self.start("sink", ["--follow"] + self.rng.choice([[], ["--batch-size", "50"]]))
            if self.rng.random() < 0.3: self.request_big()
            time.sleep(self.rng.uniform(0.05, 1.5))
            self.check_alive("agent"); self.check_alive("sink")
            victim = self.rng.choice(["agent", "sink", "both"])
            if victim in ("agent", "both"): self.kill9("agent")
            if victim in ("sink", "both"): self.kill9("sink")
        elif point.startswith("sink."):
            if "agent" not in self.procs: self.start("agent", self.agent_opts())
            if self.rng.random() < 0.5: self.request_big()
            self.armed_run("sink", point, ["--follow", "--batch-size", str(self.rng.choice([20, 100, 1000]))])
        else:
            if "sink" not in self.procs: self.start("sink", ["--follow"])
            extra = self.agent_opts()
            if point == "snapshot.batch":
                c = sqlite3.connect(self.LOG, timeout=10)
                c.execute("INSERT INTO cdc_snapshot_requests(requested_ms, requester, tables) VALUES (?, 'kill9', '')",
                          (int(time.time() * 1000),)); c.commit(); c.close()
                self.forced["snapshot_requests"] += 1
                extra = ["--batch-size", "2000"]
            elif point == "resync.batch":
                self.force_resync()
                extra = ["--batch-size", "2000"]
            elif point == "txn.batch":
                self.kill9("agent")
                self.request_big()
                extra = ["--batch-size", str(self.rng.choice([1000, 5000]))]
            timeout = None
            if point.startswith("wal.barrier."):
                # The agent's barrier cycle waits for 1,000 new WAL frames (its checkpoint
                # threshold): the large transaction brings most of them.
                self.kill9("agent")
                self.request_big()
                timeout = 2 * args.point_timeout
            self.armed_run("agent", point, extra, timeout)
        # Carry on unarmed for a moment, so the next trial starts from a running pipeline.
        if "agent" not in self.procs: self.start("agent", self.agent_opts())
        if "sink" not in self.procs: self.start("sink", ["--follow"])
        time.sleep(self.rng.uniform(0.1, 0.6))
        return True

    def drain(self):
        """Stops the writer under a running agent (in WAL mode the agent's connection keeps the
        writer's close from checkpointing and deleting the WAL), lets it catch up, stops it
        cleanly, then a one-shot sink."""
        self.kill9("sink")
        self.check_alive("agent")
        if "agent" not in self.procs: self.start("agent")
        time.sleep(0.5)
        self.writer.send_signal(signal.SIGTERM)
        self.writer.wait(timeout=60)
        last, stable_since = None, time.time()
        deadline = time.time() + 300
        while time.time() < deadline:
            now = self.log_query("SELECT max(lsn) FROM cdc_events")[0][0]
            if now != last: last, stable_since = now, time.time()
            elif time.time() - stable_since > 1.5: break
            time.sleep(0.1)
        p, logp = self.procs.pop("agent")
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=120)
        self.note(f"agent stopped rc={rc}")
        if rc != 0: self.failures.append(f"final agent stop rc={rc} ({os.path.basename(logp)})")
        r = subprocess.run([f"{B}/cdc-agent", "run", "--db", self.SRC, "--log", self.LOG, "--mode", self.mode, "--once"],
                           capture_output=True, text=True)
        open(os.path.join(self.d, "agent-final-once.log"), "w").write(r.stderr)
        if r.returncode != 0: self.failures.append(f"final agent --once rc={r.returncode}")
        r = subprocess.run([f"{B}/cdc-sink", "--log", self.LOG, "--replica", self.REP], capture_output=True, text=True)
        open(os.path.join(self.d, "sink-final.log"), "w").write(r.stderr)
        if r.returncode != 0: self.failures.append(f"final sink rc={r.returncode}: {r.stderr[-300:]}")
        r = subprocess.run([f"{B}/replica-check", "--source", self.SRC, "--replica", self.REP, "--log", self.LOG],
                           capture_output=True, text=True)
        open(os.path.join(self.d, "replica-check.out"), "w").write(r.stdout + r.stderr)
        self.replica_check_rc = r.returncode
        if r.returncode != 0: self.failures.append(f"replica-check rc={r.returncode}: {(r.stdout + r.stderr)[-800:]}")
        self.holder.close()

    # ---------- checks ----------
    def check(self):
        ev = sqlite3.connect(f"file:{self.LOG}?mode=ro", uri=True)
        cnt, mn, mx = ev.execute("SELECT count(*), min(lsn), max(lsn) FROM cdc_events").fetchone()
        if cnt != mx - mn + 1: self.failures.append(f"LSN gap: {cnt} events between {mn} and {mx}")
        has_schemas = ev.execute("SELECT count(*) FROM sqlite_schema WHERE name='cdc_schemas'").fetchone()[0] > 0
        schema_objects = {i: json.loads(j) for i, j in ev.execute("SELECT id, json FROM cdc_schemas")} if has_schemas else {}
        types, group_problems, decode_errors = {}, [], 0
        epochs = []                      # (lsn, reason)
        epoch_ends = []
        epoch_tables = []                # (lsn, tables) of every epoch start
        stream = {}                      # (table, key) -> [(lsn, state)] streamed, LSN order
        per_txn_keys = {}                # (txn id, table, key) -> events (must be 1)
        last_state = {}                  # (table, key) -> latest state seen (stream or snapshot)
        harmless_dups = 0
        abandoned_groups = []
        replay = {}
        open_grp = None
        group_entries = []               # the open group's (key, lsn, state, txn id)
        abandoned = []                   # entries of groups a crash left unfinished
        def commit_group():
            for k, l, st, tid in group_entries:
                stream.setdefault(k, []).append((l, st))
                per_txn_keys[(tid, k)] = per_txn_keys.get((tid, k), 0) + 1
                last_state[k] = st
            group_entries.clear()
        def abandon_group():
            # A transaction larger than a batch is appended in several batches; a crash before
            # its last leaves its first events in the log, and they appear again at higher
            # LSNs (docs/wal-capture.md). Kept apart: they must reappear (or a resync follow).
            abandoned.extend(group_entries); group_entries.clear()
        for lsn, typ, text in ev.execute("SELECT lsn, type, event FROM cdc_events ORDER BY lsn"):
            try:
                e = json.loads(text)
                if isinstance(e.get("schema"), dict) and "$ref" in e["schema"]: e["schema"] = schema_objects[e["schema"]["$ref"]]
            except Exception:
                decode_errors += 1; continue
            t = e["type"]
            name = t if t != "change" else "change:" + e["op"]
            types[name] = types.get(name, 0) + 1
            if t == "snapshot_start":
                if open_grp is not None: abandon_group(); open_grp = None; abandoned_groups.append(lsn)
                epochs.append((lsn, e.get("reason"))); epoch_tables.append((lsn, set(e.get("tables", [])))); continue
            if t == "snapshot_end":
                epoch_ends.append((lsn, e.get("reason")))
                for tb in e.get("tables", []):
                    for k, (ver, row) in list(replay.get(tb, {}).items()):
                        if ver < e["epoch"] and row is not None: replay[tb][k] = (ver, None)
                continue
            if t != "change": continue
            tbl, op, key = e["table"], e["op"], e["key"]
            kvals = tuple(key.values())
            pk = [c["name"] for c in e["schema"]["columns"] if c["pk"]]
            if op != "snapshot":
                g = e["txn"]
                if open_grp is not None and g["index"] == 0 and g["id"] == lsn:
                    abandon_group(); open_grp = None; abandoned_groups.append(lsn)
                if open_grp is None:
                    if g["index"] != 0 or g["id"] != lsn: group_problems.append((lsn, g))
                elif g["id"] != open_grp[0] or g["index"] != open_grp[1]: group_problems.append((lsn, g, open_grp))
                # A state is the writer's w of the row, or ("del", w of the row deleted): a
                # delete names what it deletes, so two deletes of one key never look alike.
                moves = []
                if op == "delete": moves.append((kvals, ("del", (e["before"] or {}).get("w"))))
                else:
                    newk = tuple(e["after"][c] for c in pk) if pk else kvals
                    if op == "update" and newk != kvals: moves.append((kvals, ("del", (e["before"] or {}).get("w"))))
                    moves.append((newk, e["after"].get("w")))
                for k, st in moves: group_entries.append(((tbl, k), lsn, st, g["id"]))
                open_grp = None if g["last"] else (g["id"], g["index"] + 1)
                if open_grp is None: commit_group()
            else:
                st = e["after"].get("w")
                if last_state.get((tbl, kvals), "none") == st and not (tbl == "big" and st == 0): harmless_dups += 1
                last_state[(tbl, kvals)] = st
            # the Python replay (version = LSN; only newer versions win)
            tb = replay.setdefault(tbl, {})
            ver = e["version"]
            def put(k, row):
                old = tb.get(k)
                if old is None or ver > old[0]: tb[k] = (ver, row)
            rk = rowkey(key)
            if op in ("insert", "snapshot"): put(rk, e["after"])
            elif op == "delete": put(rk, None)
            else:
                newk = rowkey({c: e["after"][c] for c in pk}) if pk else rk
                if newk != rk: put(rk, None)
                put(newk, e["after"])
        if open_grp is not None: self.failures.append(f"a transaction group is still open at the log's end: {open_grp}")
        if decode_errors: self.failures.append(f"{decode_errors} events do not decode")
        if group_problems: self.failures.append(f"{len(group_problems)} transaction grouping problems, first {group_problems[:3]}")
        # Trigger mode groups by batch, not by source transaction (docs/change-table-capture.md),
        # so only WAL mode has one change per row per group.
        twice = [k for k, n in per_txn_keys.items() if n > 1] if self.mode == "wal" else []
        if twice: self.failures.append(f"{len(twice)} rows changed twice within one logged transaction (a duplicate), first {twice[:3]}")

        # ---- ledger: every committed change exactly once, in order, per key ----
        big_keys = [(i,) for i in range(1, args.big_rows + 1)]
        ledger = {}                      # (table, key) -> [w-state]
        ledger_changes, ledger_txns = 0, 0
        for line in open(self.LEDGER):
            rec = json.loads(line)
            ledger_txns += 1
            for tbl, k, st in rec["ch"]:
                seq = ledger.setdefault((tbl, tuple(k)), [])
                if st is None:
                    # The row deleted: the key's last state (w), or a row seeded before the
                    # writer started (w 0).
                    st = ("del", next((x for x in reversed(seq) if not isinstance(x, tuple)), 0))
                seq.append(st); ledger_changes += 1
            if rec.get("big"):
                for k in big_keys: ledger.setdefault(("big", k), []).append(rec["w"])
                ledger_changes += len(big_keys)
        resyncs = [l for l, r in epochs if r == "resync"]
        first_end = min((l for l, r in epochs), default=0)
        missing_ok, missing_bad, unmatched, verified = 0, [], [], 0
        def epoch_between(table, lo, hi):
            # An epoch over the table between the two streamed changes carries the state (a
            # resync; in trigger mode also a requested epoch, whose snapshot consumes the
            # change rows up to its boundary instead of streaming them).
            return any(lo < r and (hi is None or r < hi) and table in tb for r, tb in epoch_tables)
        for k in set(ledger) | set(stream):
            L, S = ledger.get(k, []), stream.get(k, [])
            i, prev_lsn = 0, 0
            for lsn, st in S:
                j = i
                while j < len(L) and L[j] != st: j += 1
                if j == len(L):
                    unmatched.append((k, lsn, st)); continue
                if j > i:
                    if epoch_between(k[0], prev_lsn, lsn): missing_ok += j - i
                    else: missing_bad.append((k, L[i:j], lsn))
                verified += 1
                i, prev_lsn = j + 1, lsn
            if i < len(L):
                if epoch_between(k[0], prev_lsn, None): missing_ok += len(L) - i
                else: missing_bad.append((k, L[i:], "end"))
        if unmatched: self.failures.append(f"{len(unmatched)} streamed changes not in the ledger at their place (duplicated, reordered or invented), first {unmatched[:3]}")
        if missing_bad: self.failures.append(f"{len(missing_bad)} rows miss committed changes with no resync epoch after them, first {missing_bad[:3]}")

        abandoned_bad = []
        for k, l, st, tid in abandoned:
            if any(l2 > l and st2 == st for l2, st2 in stream.get(k, [])) or epoch_between(k[0], l, None): continue
            abandoned_bad.append((k, l, st))
        if abandoned_bad: self.failures.append(f"{len(abandoned_bad)} changes of unfinished groups never appear again, first {abandoned_bad[:3]}")
        # Every resync epoch must be explained: forced by the harness (the epoch, or its reruns
        # after kills inside it, up to its end marker), or in WAL mode a service checkpoint
        # while the agent was down (only with --wal-autocheckpoint > 0).
        unforced = []
        ends = [l for l, r in epoch_ends if r == "resync"]
        for r in resyncs:
            setups = [x for x in self.resync_setup_lsns if x is not None and x < r]
            if setups and not any(setups[-1] < x < r for x in ends): continue
            unforced.append(r)
        # Why the agent ran them, from its logs. In WAL mode a kill soon after the agent's own
        # barrier cycle is expected to cost one: its checkpoint let the next write restart the
        # WAL, and a restart cannot tell that generation's end from frames a service checkpoint
        # took (docs/wal-capture.md); any other reason, unforced, is a failure.
        reasons = {}
        for lp in glob.glob(os.path.join(self.d, "agent-*.log")):
            for ln in open(lp, errors="replace"):
                m = re.search(r"src\.db: (.*?)(?:;|,)? (?:continuity is lost, )?running a resync", ln)
                if m:
                    r = re.sub(r"\d+", "N", m.group(1))
                    reasons[r] = reasons.get(r, 0) + 1
        reset = "the WAL was reset (checkpointed and restarted) while the agent was stopped"
        gone = "the WAL was checkpointed and removed or truncated while the agent was stopped"
        allowed = set()
        if self.mode == "wal":
            allowed = {reset, gone} if self.forced["resync_setups"] else {reset}
            if args.wal_autocheckpoint:
                allowed |= {gone, "a checkpoint copied frames past the stored position into the database file while the agent was stopped"}
        elif self.forced["resync_setups"]:
            allowed = {"change rows N...N are missing (did another agent consume them into another log?)"}
        if set(reasons) - allowed or (unforced and self.mode == "triggers"):
            self.failures.append(f"{len(unforced)} resync epoch(s) nobody forced, at LSNs {unforced[:5]}; the agents' reasons: {reasons}")

        # ---- replay vs source ----
        s = sqlite3.connect(f"file:{self.SRC}?mode=ro", uri=True)
        replay_diff = 0
        for table, pk in (("t_int", ["id"]), ("t_comp", ["a", "b"]), ("t_nokey", []), ("big", ["id"]), ("ticks", ["id"])):
            cols = [r[1] for r in s.execute(f"PRAGMA table_info({table})")]
            src = {}
            if pk:
                for row in s.execute(f"SELECT {','.join(cols)} FROM {table}"):
                    dr = dict(zip(cols, row)); src[rowkey({c: dr[c] for c in pk})] = dr
            else:
                for row in s.execute(f"SELECT rowid, {','.join(cols)} FROM {table}"):
                    src[rowkey({"rowid": row[0]})] = dict(zip(cols, row[1:]))
            live = {k: r for k, (v, r) in replay.get(table, {}).items() if r is not None}
            for k in set(live) | set(src):
                a, b = live.get(k), src.get(k)
                if a is None or b is None or {c: vkey(v) for c, v in a.items()} != {c: norm_src(v) for c, v in b.items()}:
                    replay_diff += 1
                    if replay_diff <= 3: self.note(f"!! replay differs {table} {k}: log={a} src={b}")
        s.close()
        if replay_diff: self.failures.append(f"the Python replay of the log differs from the source in {replay_diff} rows")
        for u in self.unexpected: self.failures.append(f"{u[0]} exited by itself rc={u[1]} ({u[2]})")
        streamed = sum(len(v) for v in stream.values())
        return {
            "trials": self.trials, "kills": self.kills, "armed_but_not_reached": self.not_reached, "forced": self.forced,
            "agent_starts": self.counter["agent"], "sink_starts": self.counter["sink"],
            "events": {"count": cnt, "max_lsn": mx, "by_type": types},
            "epochs": {"resync": len(resyncs), "all": len(epochs), "reasons": sorted({r for _, r in epochs})},
            "ledger": {"transactions": ledger_txns, "row_changes": ledger_changes},
            "streamed_row_changes": streamed, "verified_once_in_order": verified,
            "missing_covered_by_resync": missing_ok,
            "duplicates": {"harmful": len(unmatched) + len(twice) + len(abandoned_bad),
                           "harmless_redecoded_after_crash": len(abandoned) - len(abandoned_bad),
                           "unfinished_groups": len(abandoned_groups), "harmless_snapshot_repeats": harmless_dups},
            "unforced_resync_epochs": len(unforced), "resync_reasons": reasons,
            "replay_diff_rows": replay_diff, "replica_check_rc": self.replica_check_rc,
            "failures": self.failures,
        }

    def run(self, trials):
        self.trials = 0
        self.replica_check_rc = None
        try:
            self.setup()
            for t in range(1, trials + 1):
                if time.time() - T0 > args.max_seconds: self.note("time budget reached"); break
                self.trials += 1
                if not self.trial(t): break
            self.drain()
        except Exception as e:          # a harness error is a failure too, with the counts so far
            self.failures.append(f"harness: {type(e).__name__}: {e}")
            for n in list(self.procs): self.kill9(n, "cleanup")
            if self.writer and self.writer.poll() is None: self.writer.kill()
            return {"trials": self.trials, "kills": self.kills, "failures": self.failures}
        return self.check()


def vkey(v):
    if isinstance(v, dict):
        if "$real" in v: return ("r", v["$real"])
        if "$blob" in v: return ("b", v["$blob"])
        if "$text" in v: return ("tx", v["$text"])
    if isinstance(v, bool): return ("?", v)
    if isinstance(v, int): return ("i", v)
    if isinstance(v, float): return ("r", struct.pack(">d", v).hex())
    if v is None: return ("n",)
    return ("t", v)

def norm_src(v):
    if isinstance(v, bytes): return ("b", base64.b64encode(v).decode())
    if isinstance(v, float) and v in (float("inf"), float("-inf")): return ("r", "inf" if v > 0 else "-inf")
    return vkey(v)

def rowkey(obj): return tuple((k, vkey(v)) for k, v in obj.items())


modes = ["wal", "triggers"] if args.mode == "both" else [args.mode]
results = {}
for i, m in enumerate(modes):
    results[m] = ModeRun(m, os.path.join(BASE, m), random.Random(seed * 10 + i)).run(args.trials)
failures = {m: r["failures"] for m, r in results.items() if r["failures"]}
summary = {"seed": seed, "dir": BASE, "seconds": round(time.time() - T0, 1), "modes": results,
           "total": {"trials": sum(r["trials"] for r in results.values()),
                     "kills": sum(sum(r["kills"].values()) for r in results.values()),
                     "kills_by_point": {p: sum(r["kills"].get(p, 0) for r in results.values())
                                        for p in sorted({p for r in results.values() for p in r["kills"]})},
                     "events": sum(r.get("events", {}).get("count", 0) for r in results.values()),
                     "verified_once_in_order": sum(r.get("verified_once_in_order", 0) for r in results.values()),
                     "harmful_duplicates": sum(r.get("duplicates", {}).get("harmful", 0) for r in results.values()),
                     "failures": sum(len(f) for f in failures.values())}}
print("\n===== SUMMARY =====")
print(json.dumps(summary, indent=1, default=str))
json.dump(summary, open(os.path.join(BASE, "summary.json"), "w"), indent=1, default=str)
print("PASSED" if not failures else "FAILED")
sys.exit(1 if failures else 0)
