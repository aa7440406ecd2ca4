#!/usr/bin/env python3
"""Daemon agent vs a continuous hostile writer + random external checkpoints + small
wal_autocheckpoint. Then sink + replica-check.  usage: 01_stress_checkpoints.py [SECONDS] [SEED]"""
import sys, os, subprocess, time
sys.path.insert(0, os.path.dirname(__file__))
from lib import *
secs = float(sys.argv[1]) if len(sys.argv) > 1 else 30
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
d = workdir("stress")
db, log, rep = f"{d}/src.db", f"{d}/events.db", f"{d}/replica.db"
here = os.path.dirname(os.path.abspath(__file__))
c = new_source(db)
c.close()
subprocess.run([sys.executable, f"{here}/writer.py", db, "0", "0", "--schema"], check=True)
agent = start_agent(db, log)
time.sleep(1)
w = subprocess.Popen([sys.executable, f"{here}/writer.py", db, str(secs), str(seed), "--autockpt", os.environ.get("AUTOCKPT", "50")])
k = subprocess.Popen([sys.executable, f"{here}/checkpointer.py", db, str(secs), str(seed)] + [os.environ.get("CKPT", "PASSIVE,FULL,RESTART,TRUNCATE")])
peak = "?"
while w.poll() is None:
    peak = vmhwm(agent.pid); time.sleep(1)
    if agent.poll() is not None:
        print("!! agent exited early rc", agent.returncode); break
k.wait()
time.sleep(3)
print("agent VmHWM", vmhwm(agent.pid))
rc = stop_agent(agent)
print("agent rc", rc)
tail(agent.errpath)
sink(log, rep)
p = check(db, rep, log)
verdict(p.returncode == 0 and rc == 0, "replica consistent after stress with external checkpoints")
