#!/usr/bin/env python3
"""SIGKILL soak test for sqlite-cdc (cdc-agent / cdc-sink / replica-check): a writer keeps
committing (and keeps a ledger) while the agent and the sink are killed with SIGKILL at random
moments and restarted; afterwards the log must hold every committed change once, a Python
replay of the log must equal the source, and replica-check must be consistent.
Build first: swift build -c release.

usage: scripts/soak/kill9.py [--trials N] [--seed S] [--dir D] [--bin DIR] [--max-seconds T]
Bounded: stops starting trials after --max-seconds (default 900).
Exit 0 when everything held, 1 when a check failed."""
import argparse, json, os, random, signal, sqlite3, struct, subprocess, sys, time, glob, re

ap = argparse.ArgumentParser()
ap.add_argument("--trials", type=int, default=30)
ap.add_argument("--seed", type=int, default=None)
ap.add_argument("--dir", default=None)
ap.add_argument("--bin", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".build", "release"))
ap.add_argument("--max-seconds", type=float, default=900)
ap.add_argument("--initial-kills", type=int, default=None, help="kills during the initial epoch (default random 0-3)")
args = ap.parse_args()
seed = args.seed if args.seed is not None else random.randrange(1, 10**6)
rng = random.Random(seed)
d = args.dir or os.path.join(os.environ.get("TMPDIR", "/tmp"), f"cdc-soak-{seed}")
os.makedirs(d, exist_ok=True)
for f in glob.glob(os.path.join(d, "*")): os.remove(f)
B = args.bin
SRC, LOG, REP, LEDGER = (os.path.join(d, n) for n in ("src.db", "ev.db", "r.db", "ledger.json"))
T0 = time.time()
failures = []
events_log = open(os.path.join(d, "actions.log"), "w")
def note(msg):
    line = f"[{time.time()-T0:7.2f}] {msg}"
    events_log.write(line + "\n"); events_log.flush()
    print(line, flush=True)

# ---------- 1. source ----------
con = sqlite3.connect(SRC, isolation_level=None)
con.execute("PRAGMA journal_mode=WAL")
con.executescript("""
CREATE TABLE t_int(id INTEGER PRIMARY KEY, v, n REAL);
CREATE TABLE t_comp(a INTEGER NOT NULL, b TEXT NOT NULL, v, PRIMARY KEY(a, b)) WITHOUT ROWID;
CREATE TABLE t_nokey(x, y);
""")
pr = random.Random(seed + 1)
con.execute("BEGIN")
for i in range(1, 1201): con.execute("INSERT INTO t_int VALUES (?,?,?)", (i, f"v{i}", pr.random()))
for a in range(1, 41):
    for b in "pqrs": con.execute("INSERT INTO t_comp VALUES (?,?,?)", (a, b, pr.randint(0, 10**9)))
for i in range(600): con.execute("INSERT INTO t_nokey VALUES (?,?)", (pr.random(), f"y{i}"))
con.execute("COMMIT"); con.close()
r = subprocess.run([f"{B}/cdc-agent", "install", "--db", SRC], capture_output=True, text=True)
note(f"install rc={r.returncode} {r.stderr.strip()[:300]}")
if r.returncode != 0: sys.exit("install failed")

# ---------- process helpers ----------
procs = {}   # name -> (Popen, logpath, argv)
counter = {"agent": 0, "sink": 0}
kills = {"agent": 0, "sink": 0}
unexpected_exits = []

def start(name, extra=()):
    counter[name] += 1
    logp = os.path.join(d, f"{name}-{counter[name]:04d}.log")
    if name == "agent":
        argv = [f"{B}/cdc-agent", "run", "--db", SRC, "--log", LOG, *extra]
    else:
        argv = [f"{B}/cdc-sink", "--log", LOG, "--replica", REP, *extra]
    with open(logp, "w") as lf:
        lf.write("# " + " ".join(argv) + "\n"); lf.flush()
        p = subprocess.Popen(argv, stdout=lf, stderr=subprocess.STDOUT)
    procs[name] = (p, logp, argv)
    note(f"start {name} pid={p.pid} {' '.join(extra)} -> {os.path.basename(logp)}")
    return p

def check_alive(name, trial):
    """Records a daemon that exited on its own (crash or error)."""
    if name not in procs: return
    p, logp, argv = procs[name]
    rc = p.poll()
    if rc is not None:
        tail = open(logp).read()[-600:]
        unexpected_exits.append((trial, name, rc, logp))
        note(f"!! {name} pid={p.pid} exited by itself rc={rc} log={logp}: {tail!r}")
        del procs[name]

def kill9(name):
    if name not in procs: return
    p, logp, _ = procs.pop(name)
    if p.poll() is None:
        os.kill(p.pid, signal.SIGKILL); p.wait()
        kills[name] += 1
        note(f"kill -9 {name} pid={p.pid}")
    else:
        unexpected_exits.append(("?", name, p.returncode, logp))
        note(f"!! {name} pid={p.pid} had already exited rc={p.returncode}")

def run_once_agent(trial, extra, kill_after=None):
    """Agent --once; optionally SIGKILLed after kill_after seconds. Returns rc."""
    p = start("agent", ["--once", *extra])
    try:
        rc = p.wait(timeout=kill_after if kill_after is not None else 120)
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGKILL); p.wait(); kills["agent"] += 1
        note(f"kill -9 agent(--once) pid={p.pid}")
        procs.pop("agent", None)
        return -9
    procs.pop("agent", None)
    note(f"agent --once rc={rc}")
    if rc != 0:
        unexpected_exits.append((trial, "agent--once", rc, procs.get("agent", (None, "?"))[1] if False else f"agent-{counter['agent']:04d}.log"))
    return rc

def batch_opt():
    k = rng.random()
    if k < 0.55: return []
    if k < 0.80: return ["--batch-size", "3"]
    if k < 0.88: return ["--batch-size", "1"]
    return ["--batch-size", str(rng.choice([7, 50, 500]))]

# ---------- initial epoch under kills ----------
nik = args.initial_kills if args.initial_kills is not None else rng.randint(0, 3)
for i in range(nik):
    p = start("agent", ["--batch-size", rng.choice(["1", "3", "10"])])
    time.sleep(rng.uniform(0.005, 0.15))
    kill9("agent")
rc = run_once_agent("init", [])
if rc != 0: failures.append(f"initial --once agent rc={rc}")
ev = sqlite3.connect(f"file:{LOG}?mode=ro", uri=True)
initial_end = ev.execute("SELECT coalesce(max(lsn),0) FROM cdc_events").fetchone()[0]
ev.close()
note(f"initial epoch done, log LSN {initial_end}")
first_trial_agent_log = counter["agent"] + 1   # agent logs numbered from here belong to the trial phase

# ---------- 2. writer ----------
writer = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "writer.py"), SRC, LEDGER, str(seed)],
                          stderr=open(os.path.join(d, "writer.log"), "w"))
note(f"writer pid={writer.pid}")

# ---------- 3. trials ----------
trials_run = 0
for trial in range(1, args.trials + 1):
    if time.time() - T0 > args.max_seconds:
        note(f"time budget reached before trial {trial}"); break
    trials_run += 1
    if writer.poll() is not None:
        failures.append(f"writer died rc={writer.returncode}"); note("!! writer died"); break
    mode = rng.random()
    note(f"--- trial {trial}")
    if "sink" not in procs:
        start("sink", ["--follow"])
    if mode < 0.2:
        # --once agent runs (some killed mid-run), sink keeps following
        if "agent" in procs: kill9("agent")
        for _ in range(rng.randint(1, 3)):
            ka = rng.choice([None, rng.uniform(0.01, 0.3)])
            run_once_agent(trial, batch_opt(), kill_after=ka)
            time.sleep(rng.uniform(0.05, 0.5))
        check_alive("sink", trial)
        if rng.random() < 0.5: kill9("sink")
    else:
        if "agent" not in procs:
            start("agent", batch_opt())
        time.sleep(rng.uniform(0.05, 2.0))
        check_alive("agent", trial); check_alive("sink", trial)
        victim = rng.choice(["agent", "sink", "both", "both"])
        if victim in ("agent", "both"): kill9("agent")
        if victim in ("sink", "both"): kill9("sink")
    # occasionally a one-shot sink (no --follow), killed or not
    if rng.random() < 0.1 and "sink" not in procs:
        p = start("sink", [])
        try:
            rc = p.wait(timeout=rng.uniform(0.05, 1.0)); note(f"one-shot sink rc={rc}")
            if rc != 0: unexpected_exits.append((trial, "sink-oneshot", rc, procs["sink"][1]))
            procs.pop("sink", None)
        except subprocess.TimeoutExpired:
            kill9("sink")

# ---------- 4. drain ----------
for n in ("agent", "sink"):
    check_alive(n, "end")
    kill9(n)
writer.send_signal(signal.SIGTERM)
writer.wait(timeout=30)
ledger = json.load(open(LEDGER))
note(f"writer stopped rc={writer.returncode} ledger={ledger}")
rc = run_once_agent("drain", [])
if rc != 0: failures.append(f"drain agent rc={rc}")
p = start("sink", []); rc = p.wait(timeout=300); procs.pop("sink", None)
note(f"drain sink rc={rc}")
if rc != 0: failures.append(f"drain sink rc={rc} (log {os.path.basename(procs.get('sink',(0,'sink-%04d.log'%counter['sink']))[1])})")
rcres = subprocess.run([f"{B}/replica-check", "--source", SRC, "--replica", REP, "--log", LOG], capture_output=True, text=True)
open(os.path.join(d, "replica-check.out"), "w").write(rcres.stdout + rcres.stderr)
note(f"replica-check rc={rcres.returncode}\n{(rcres.stdout + rcres.stderr).strip()[:2000]}")
if rcres.returncode != 0: failures.append(f"replica-check rc={rcres.returncode}")

# ---------- 5. agent log counts ----------
resync_lines, epoch_lines, epoch_starts, error_lines = [], [], [], []
resync_epochs_init, resync_epochs_trials = 0, 0
for lp in sorted(glob.glob(os.path.join(d, "agent-*.log"))):
    for ln in open(lp, errors="replace"):
        if "resync" in ln: resync_lines.append((os.path.basename(lp), ln.strip()))
        if "snapshot epoch (" in ln:
            epoch_lines.append((os.path.basename(lp), ln.strip()))
            if "starting" in ln: epoch_starts.append((os.path.basename(lp), ln.strip()))
            if "snapshot epoch (resync)" in ln and "starting" in ln:
                if int(re.search(r"agent-(\d+)", lp).group(1)) >= first_trial_agent_log: resync_epochs_trials += 1
                else: resync_epochs_init += 1
for lp in sorted(glob.glob(os.path.join(d, "*.log"))):
    if os.path.basename(lp) == "actions.log": continue
    for ln in open(lp, errors="replace"):
        if re.search(r"error|fatal|crash|abort", ln, re.I): error_lines.append((os.path.basename(lp), ln.strip()))
if resync_epochs_init: failures.append(f"{resync_epochs_init} resync epoch(s) started after SIGKILLs during the initial epoch")
if resync_epochs_trials: failures.append(f"{resync_epochs_trials} resync epoch(s) started during the trial phase")

# ---------- 6. log checks ----------
ev = sqlite3.connect(f"file:{LOG}?mode=ro", uri=True)
cnt, mn, mx = ev.execute("SELECT count(*), min(lsn), max(lsn) FROM cdc_events").fetchone()
pruned = ev.execute("SELECT value FROM cdc_log_meta WHERE key='pruned_through'").fetchone()
state = dict(ev.execute("SELECT key, value FROM cdc_agent_state").fetchall())
lsn_ok = (cnt == mx - mn + 1)
if not lsn_ok: failures.append(f"LSN gap: count {cnt} != max-min+1 {mx-mn+1}")
decode_err, mismatch = 0, 0
types = {}
epochs = []
change_after_initial = 0
group_problems = []
open_grp = None  # (id, next_index)
replay = {}      # table -> key -> (version, row or None)
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
def rowkey(obj): return tuple((k, vkey(v)) for k, v in obj.items())
cur_epoch = None
# A format-2 log stores each schema object once and references it ({"$ref": id}).
has_schemas = ev.execute("SELECT count(*) FROM sqlite_schema WHERE name = 'cdc_schemas'").fetchone()[0] > 0
schema_objects = {i: json.loads(j) for i, j in ev.execute("SELECT id, json FROM cdc_schemas")} if has_schemas else {}
for lsn, typ, tbl, text in ev.execute("SELECT lsn, type, tbl, event FROM cdc_events ORDER BY lsn"):
    try:
        e = json.loads(text)
        if isinstance(e.get("schema"), dict) and "$ref" in e["schema"]:
            e["schema"] = schema_objects[e["schema"]["$ref"]]
    except Exception as ex:
        decode_err += 1
        if decode_err < 5: note(f"!! lsn {lsn} does not decode: {ex}")
        continue
    if e.get("lsn") != lsn or e.get("type") != typ: mismatch += 1
    t = e["type"]; types[t if t != "change" else "change:" + e["op"]] = types.get(t if t != "change" else "change:" + e["op"], 0) + 1
    if t == "snapshot_start":
        epochs.append((lsn, e.get("reason"), tuple(e.get("tables", [])))); cur_epoch = e
        continue
    if t == "snapshot_end":
        for tb in e.get("tables", []):
            for k, (ver, row) in list(replay.get(tb, {}).items()):
                if ver < e["epoch"] and row is not None: replay[tb][k] = (ver, None)
        continue
    if t != "change": continue
    if e["op"] != "snapshot":
        if lsn > initial_end: change_after_initial += 1
        g = e["txn"]
        if open_grp is None:
            if g["index"] != 0 or g["id"] != lsn: group_problems.append((lsn, "group start", g))
        else:
            if g["id"] != open_grp[0] or g["index"] != open_grp[1]: group_problems.append((lsn, "group continue", g, open_grp))
        open_grp = None if g["last"] else (g["id"], g["index"] + 1)
    tb = replay.setdefault(e["table"], {})
    k = rowkey(e["key"]); ver = e["version"]
    op = e["op"]
    def put(key, row):
        old = tb.get(key)
        if old is None or ver > old[0]: tb[key] = (ver, row)
    if op in ("insert", "snapshot"): put(k, e["after"])
    elif op == "delete": put(k, None)
    elif op == "update":
        pk = [c["name"] for c in e["schema"]["columns"] if c["pk"]]
        newk = rowkey({c: e["after"][c] for c in pk}) if pk else k
        if newk != k: put(k, None)
        put(newk, e["after"])
if open_grp is not None: note(f"note: group {open_grp} still open at the log's end")
if decode_err or mismatch: failures.append(f"{decode_err} undecodable events, {mismatch} lsn/type mismatches")
if group_problems: failures.append(f"{len(group_problems)} txn grouping problems, first {group_problems[:3]}")

# independent replay vs source
s = sqlite3.connect(f"file:{SRC}?mode=ro", uri=True)
replay_diff = 0
def src_rows(table, pk):
    cols = [r[1] for r in s.execute(f"PRAGMA table_info({table})")]
    if pk:
        q = f"SELECT {','.join(cols)} FROM {table}"
        for row in s.execute(q):
            d_ = dict(zip(cols, row)); yield rowkey({c: d_[c] for c in pk}), d_
    else:
        for row in s.execute(f"SELECT rowid, {','.join(cols)} FROM {table}"):
            yield (("rowid", vkey(row[0])),), dict(zip(cols, row[1:]))
def norm_src(v):
    if isinstance(v, bytes):
        import base64; return ("b", base64.b64encode(v).decode())
    if isinstance(v, float) and v in (float("inf"), float("-inf")): return ("r", "inf" if v > 0 else "-inf")
    return vkey(v)
for table, pk in (("t_int", ["id"]), ("t_comp", ["a", "b"]), ("t_nokey", [])):
    live = {k: r for k, (ver, r) in replay.get(table, {}).items() if r is not None}
    src = dict(src_rows(table, pk))
    for k in set(live) | set(src):
        a = live.get(k); b = src.get(k)
        if a is None or b is None or {c: vkey(v) for c, v in a.items()} != {c: norm_src(v) for c, v in b.items()}:
            replay_diff += 1
            if replay_diff <= 5: note(f"!! replay differs {table} {k}: log={a} src={b}")
if replay_diff: failures.append(f"independent replay differs from source in {replay_diff} rows")

only_initial = len(epochs) == 1
ledger_ok = (change_after_initial == ledger["row_changes"])
if only_initial and not ledger_ok:
    failures.append(f"ledger {ledger['row_changes']} row changes != {change_after_initial} change events after the initial epoch")

summary = {
    "seed": seed, "dir": d, "trials": trials_run, "kills": kills,
    "agent_starts": counter["agent"], "sink_starts": counter["sink"],
    "unexpected_exits": unexpected_exits,
    "resync_log_lines": len(resync_lines), "resync_epochs_initial_phase": resync_epochs_init, "resync_epochs_trial_phase": resync_epochs_trials, "snapshot_epoch_log_lines": len(epoch_lines),
    "snapshot_epochs_started_per_logs": len(epoch_starts),
    "snapshot_epochs_in_log": [(l, r) for l, r, _ in epochs],
    "events": {"count": cnt, "min_lsn": mn, "max_lsn": mx, "pruned_through": pruned[0] if pruned else None, "consecutive": lsn_ok, "by_type": types},
    "decode_errors": decode_err, "initial_epoch_end_lsn": initial_end,
    "ledger": ledger, "change_events_after_initial": change_after_initial,
    "ledger_matches": ledger_ok if only_initial else "n/a (more than one epoch)",
    "independent_replay_diff_rows": replay_diff,
    "replica_check_rc": rcres.returncode,
    "error_like_log_lines": len(error_lines),
    "seconds": round(time.time() - T0, 1),
    "failures": failures,
}
print("\n===== SUMMARY =====")
print(json.dumps(summary, indent=1, default=str))
for f_, ln in resync_lines[:10]: print("resync:", f_, ln)
for f_, ln in epoch_starts[:20]: print("epoch:", f_, ln)
for f_, ln in error_lines[:15]: print("error-like:", f_, ln)
json.dump(summary, open(os.path.join(d, "summary.json"), "w"), indent=1, default=str)
sys.exit(1 if failures else 0)
