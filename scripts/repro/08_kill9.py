#!/usr/bin/env python3
"""kill -9 the daemon agent at random moments while a writer commits continuously (default
wal_autocheckpoint), restart it each time; at the end capture with --once, then cdc-sink,
replica-check and the oracle. Resync epochs are fine if logged; silent loss is not.
usage: 08_kill9.py [KILLS] [SEED]"""
import sys, os, subprocess, time, random, signal
sys.path.insert(0, os.path.dirname(__file__))
from lib import *
import oracle
kills = int(sys.argv[1]) if len(sys.argv) > 1 else 20
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
rng = random.Random(seed)
here = os.path.dirname(os.path.abspath(__file__))
d = workdir("kill9")
db, log, rep = f"{d}/src.db", f"{d}/events.db", f"{d}/replica.db"
new_source(db).close()
subprocess.run([sys.executable, f"{here}/writer.py", db, "0", "0", "--schema"], check=True)
w = subprocess.Popen([sys.executable, f"{here}/writer.py", db, "600", str(seed), "--max-blob", "12000", "--sleep", "0.002"])
errs = f"{d}/agent.err"
deaths = []
for k in range(kills):
    a = start_agent(db, log, stderr_path=errs)
    time.sleep(rng.uniform(0.05, 1.5))
    if a.poll() is not None:
        deaths.append(a.returncode)
    else:
        a.kill(); a.wait()
w.send_signal(signal.SIGTERM) if False else w.kill(); w.wait()
p = agent_once(db, log)
text = open(errs).read()
print("agent runs that died by themselves (exit codes):", deaths)
for l in sorted(set(l.split("src.db: ")[-1][:120] for l in text.splitlines() if "warning" in l or l.startswith("cdc-agent:"))):
    print("   agent said:", l)
sink(log, rep)
pc = check(db, rep, log)
ok = oracle.compare(log, db)
verdict(not deaths, "no agent run died on its own")
verdict(pc.returncode == 0 and ok, "replica consistent after kill -9 cycles")
