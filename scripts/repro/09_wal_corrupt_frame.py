#!/usr/bin/env python3
"""A flipped byte in a committed WAL frame (in unused space of a b-tree leaf, so SQLite and the
service never notice) makes the daemon agent stop capturing at that frame forever, without
any error, warning, resync or non-zero exit: every later commit is silently not captured.
usage: 09_wal_corrupt_frame.py"""
import sys, os, time, signal, struct
sys.path.insert(0, os.path.dirname(__file__))
from lib import *
d = workdir("walcorrupt")
db, log, rep = f"{d}/src.db", f"{d}/events.db", f"{d}/replica.db"
w = new_source(db, wal_autocheckpoint=0)
w.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
w.execute("INSERT INTO t(v) VALUES('seed')")
agent = start_agent(db, log)
time.sleep(1.5)
os.kill(agent.pid, signal.SIGSTOP)
for i in range(300):
    w.execute("INSERT INTO t(v) VALUES(?)", ("v%03d" % i + "x" * 100,))
# find a committed frame (about half-way) holding a table leaf page, flip a byte in its free space
data = open(db + "-wal", "rb").read()
psz = struct.unpack(">I", data[8:12])[0]
nframes = (len(data) - 32) // (24 + psz)
target = None
for f in range(nframes // 2, nframes):
    off = 32 + f * (24 + psz)
    pg = struct.unpack(">I", data[off:off + 4])[0]
    page = data[off + 24: off + 24 + psz]
    if pg != 1 and page[0] == 0x0D:
        ncells = struct.unpack(">H", page[3:5])[0]; content = struct.unpack(">H", page[5:7])[0] or 65536
        gap_lo, gap_hi = 8 + 2 * ncells, content
        if gap_hi - gap_lo > 16:
            target = (f, off + 24 + (gap_lo + gap_hi) // 2, pg); break
f, byte_off, pg = target
with open(db + "-wal", "r+b") as fh:
    fh.seek(byte_off); b = fh.read(1); fh.seek(byte_off); fh.write(bytes([b[0] ^ 0xFF]))
print(f"flipped one byte in unused space of frame {f} (page {pg}) of {nframes} frames")
print("source integrity_check:", w.execute("PRAGMA integrity_check").fetchone()[0], "; rows:", w.execute("SELECT count(*) FROM t").fetchone()[0])
os.kill(agent.pid, signal.SIGCONT)
time.sleep(1.5)
for i in range(20):
    w.execute("INSERT INTO t(v) VALUES(?)", (f"later-{i}",))
time.sleep(1.5)
alive = agent.poll() is None
rc = stop_agent(agent)
print("agent alive until SIGTERM:", alive, "exit", rc)
tail(agent.errpath)
sink(log, rep)
p = check(db, rep, log)
text = open(agent.errpath).read()
verdict("warning" in text or "error" in text.lower() or rc != 0, "agent reports the corrupted WAL frame (error or resync)")
verdict(p.returncode == 0, "replica consistent")
