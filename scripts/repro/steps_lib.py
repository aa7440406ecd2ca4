"""Run a list of SQL steps against a source; after each, capture (agent --once or a daemon),
sink and replica-check; report the first step where the replica diverges or a tool fails."""
import os, sys, time
from lib import *

def run_steps(name, steps, pre=(), daemon=False, autockpt=0, check_each=True):
    d = workdir(name)
    db, log, rep = f"{d}/src.db", f"{d}/events.db", f"{d}/replica.db"
    w = new_source(db, pre=pre, wal_autocheckpoint=autockpt)
    agent = None
    failures = []
    if daemon:
        agent = start_agent(db, log, stderr_path=f"{d}/agent.err")
        time.sleep(1)
    for i, step in enumerate(steps):
        label = step if isinstance(step, str) else step[0]
        sqls = [step] if isinstance(step, str) else step[1]
        print(f"\n### step {i}: {label[:100]}")
        try:
            for s in sqls:
                if callable(s): s(w)
                else: w.executescript(s) if ";" in s.strip().rstrip(";") else w.execute(s)
        except Exception as e:
            print("   (source rejected the step:", e, ")")
            continue
        if daemon:
            time.sleep(0.7)
            if agent.poll() is not None:
                print("!! agent died, rc", agent.returncode); tail(f"{d}/agent.err", 5)
                failures.append((i, label, "agent died")); break
        else:
            p = agent_once(db, log)
            if p.returncode != 0:
                failures.append((i, label, "agent rc %d: %s" % (p.returncode, (p.stderr.strip().splitlines() or [''])[-1])))
                break
        if (check_each or i == len(steps) - 1) and os.environ.get("CHECK", "oracle") == "oracle":
            import oracle
            ok = oracle.compare(log, db)
            if not ok: failures.append((i, label, "event log replay differs from source (oracle)"))
        elif check_each or i == len(steps) - 1:
            ps = sink(log, rep)
            if ps.returncode != 0:
                failures.append((i, label, "sink rc %d: %s" % (ps.returncode, (ps.stderr.strip().splitlines() or [''])[-1])))
                if os.environ.get("REBUILD_ON_SINK_FAIL", "1") == "1":
                    os.rename(rep, rep + f".failed{i}")
                    ps = sink(log, rep)
                    if ps.returncode != 0: failures.append((i, label, "sink rebuild from scratch rc %d" % ps.returncode)); break
                else: break
            pc = check(db, rep, log)
            if pc.returncode != 0:
                why = [l.strip() for l in pc.stdout.splitlines() if l.strip().startswith(("schema:", "missing:", "extra:", "differing:"))]
                failures.append((i, label, "replica-check rc %d %s" % (pc.returncode, "; ".join(why)[:300])))
    if agent:
        stop_agent(agent); tail(f"{d}/agent.err", 8)
    print("\n==== summary", name)
    for f in failures: print("FAIL at step %d (%s): %s" % f)
    if not failures: print("PASS: all steps consistent")
    return failures
