"""Shared helpers for the WAL-capture break scripts (scripts/repro/*.py).

Binaries come from .build/debug unless CDC_BIN is set.
"""
import os, signal, sqlite3, subprocess, sys, tempfile, time, random

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("CDC_BIN", os.path.join(ROOT, ".build", "debug"))
AGENT, SINK, CHECK = (os.path.join(BIN, n) for n in ("cdc-agent", "cdc-sink", "replica-check"))


def workdir(name):
    d = tempfile.mkdtemp(prefix=f"walbreak-{name}-")
    print(f"# workdir {d}")
    return d


def connect(path, **kw):
    c = sqlite3.connect(path, isolation_level=None, timeout=kw.pop("timeout", 30), **kw)
    return c


def new_source(path, pre=(), wal_autocheckpoint=None):
    c = connect(path)
    for s in pre:
        c.execute(s)
    c.execute("PRAGMA journal_mode=WAL")
    if wal_autocheckpoint is not None:
        c.execute(f"PRAGMA wal_autocheckpoint={wal_autocheckpoint}")
    return c


def run(cmd, timeout=600, check=False):
    t = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    out = (p.stdout + p.stderr).strip()
    print(f"$ {' '.join(cmd)}  -> rc={p.returncode} ({time.time()-t:.1f}s)")
    if out:
        lines = out.splitlines()
        for l in lines[:25]:
            print("   " + l)
        if len(lines) > 25:
            print(f"   ... ({len(lines)-25} more lines)")
            for l in lines[-5:]:
                print("   " + l)
    if check and p.returncode != 0:
        raise SystemExit(f"command failed: {cmd}")
    return p


def agent_once(db, log, extra=()):
    return run([AGENT, "run", "--db", db, "--log", log, "--mode", "wal", "--once", *extra])


def start_agent(db, log, extra=(), stderr_path=None):
    f = open(stderr_path or (log + ".agent.err"), "ab")
    p = subprocess.Popen([AGENT, "run", "--db", db, "--log", log, "--mode", "wal", *extra], stdout=f, stderr=f)
    p.errpath = f.name
    return p


def stop_agent(p, sig=signal.SIGTERM, timeout=60):
    if p.poll() is None:
        p.send_signal(sig)
    try:
        rc = p.wait(timeout)
    except subprocess.TimeoutExpired:
        print(f"!! agent pid {p.pid} did not stop within {timeout}s after {sig}")
        p.kill()
        rc = p.wait()
    return rc


def vmhwm(pid):
    try:
        for l in open(f"/proc/{pid}/status"):
            if l.startswith("VmHWM"):
                return l.split()[1] + " kB"
    except OSError:
        return "?"


def sink(log, replica, extra=()):
    return run([SINK, "--log", log, "--replica", replica, *extra])


def check(db, replica, log=None):
    cmd = [CHECK, "--source", db, "--replica", replica]
    if log:
        cmd += ["--log", log]
    return run(cmd)


def tail(path, n=15):
    try:
        lines = open(path, errors="replace").read().splitlines()
    except OSError:
        return
    print(f"--- last {min(n,len(lines))} lines of {path}")
    for l in lines[-n:]:
        print("   " + l)


def log_summary(log):
    c = sqlite3.connect(f"file:{log}?mode=ro", uri=True)
    tabs = [r[0] for r in c.execute("select name from sqlite_master where type='table'")]
    return tabs


def verdict(ok, msg):
    print(("PASS: " if ok else "FAIL: ") + msg)
    return ok
