#!/usr/bin/env python3
"""Bad inputs to `cdc-agent run --mode wal` (promise 6: one-line error naming the problem,
non-zero exit, nothing half-written). Prints exit code, stderr line count and the message.
usage: 10_bad_inputs.py"""
import sys, os, stat, shutil, sqlite3, subprocess
sys.path.insert(0, os.path.dirname(__file__))
from lib import *
d = workdir("badinput")
def mk(path, wal=True, rows=3):
    c = sqlite3.connect(path, isolation_level=None)
    if wal: c.execute("PRAGMA journal_mode=WAL")
    c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v)")
    c.executemany("INSERT INTO t(v) VALUES(?)", [(i,) for i in range(rows)])
    return c
results = []
def case(name, args, expect_fail=True, env=None):
    p = subprocess.run([AGENT, "run", *args], capture_output=True, text=True, timeout=60, env=env)
    err = p.stderr.strip().splitlines()
    ok = (p.returncode != 0) == expect_fail and (not expect_fail or len(err) == 1)
    results.append((ok, name, p.returncode, len(err), (err[-1] if err else "")[:200]))

# non-WAL database
mk(f"{d}/rollback.db", wal=False).close()
case("database in rollback-journal mode", ["--db", f"{d}/rollback.db", "--log", f"{d}/l1.db", "--mode", "wal", "--once"])
case("...and did it create the log anyway?", ["--db", f"{d}/nonexistent-probe", "--log", f"{d}/l1b.db", "--mode", "wal", "--once"])
results[-1] = (not os.path.exists(f"{d}/l1.db"), "log file not created for a refused source", 0, 0, f"exists={os.path.exists(f'{d}/l1.db')}")
# non-SQLite file
open(f"{d}/junk.db", "wb").write(os.urandom(8192))
case("random bytes as --db", ["--db", f"{d}/junk.db", "--log", f"{d}/l2.db", "--mode", "wal", "--once"])
open(f"{d}/text.db", "w").write("hello\n")
case("text file as --db", ["--db", f"{d}/text.db", "--log", f"{d}/l3.db", "--mode", "wal", "--once"])
open(f"{d}/empty.db", "w").close()
case("empty file as --db", ["--db", f"{d}/empty.db", "--log", f"{d}/l4.db", "--mode", "wal", "--once"])
case("directory as --db", ["--db", d, "--log", f"{d}/l5.db", "--mode", "wal", "--once"])
# SQLite header but truncated database
mk(f"{d}/trunc.db", wal=False, rows=2000).close()
c = sqlite3.connect(f"{d}/trunc.db"); c.execute("PRAGMA journal_mode=WAL"); c.close()
with open(f"{d}/trunc.db", "r+b") as f: f.truncate(4096 * 2)
case("database file truncated to 2 pages (WAL mode header)", ["--db", f"{d}/trunc.db", "--log", f"{d}/l6.db", "--mode", "wal", "--once"])
# read-only database file / directory
os.makedirs(f"{d}/ro", exist_ok=True)
mk(f"{d}/ro/src.db").close()
os.chmod(f"{d}/ro/src.db", 0o444)
case("read-only database file (root ignores modes: see note)", ["--db", f"{d}/ro/src.db", "--log", f"{d}/l7.db", "--mode", "wal", "--once"], expect_fail=False)
# event log given as --db
w = mk(f"{d}/src.db")
subprocess.run([AGENT, "run", "--db", f"{d}/src.db", "--log", f"{d}/events.db", "--mode", "wal", "--once"], capture_output=True)
case("the event log given as --db", ["--db", f"{d}/events.db", "--log", f"{d}/l8.db", "--mode", "wal", "--once"])
case("--log is the source itself", ["--db", f"{d}/src.db", "--log", f"{d}/src.db", "--mode", "wal", "--once"])
# same log for two sources
mk(f"{d}/src2.db")
case("same log for a second source", ["--db", f"{d}/src2.db", "--log", f"{d}/events.db", "--mode", "wal", "--once"])
# log is a non-SQLite file
open(f"{d}/junklog.db", "wb").write(b"x" * 5000)
case("--log is a junk file", ["--db", f"{d}/src.db", "--log", f"{d}/junklog.db", "--mode", "wal", "--once"])
case("--log in a missing directory", ["--db", f"{d}/src.db", "--log", f"{d}/nodir/x/events.db", "--mode", "wal", "--once"])
# truncated -wal (mid-frame) while the source connection is open
w.execute("BEGIN"); [w.execute("INSERT INTO t(v) VALUES(randomblob(3000))") for _ in range(50)]; w.execute("COMMIT")
sz = os.path.getsize(f"{d}/src.db-wal")
with open(f"{d}/src.db-wal", "r+b") as f: f.truncate(sz // 2 + 100)
case("-wal truncated in the middle of a committed transaction", ["--db", f"{d}/src.db", "--log", f"{d}/events.db", "--mode", "wal", "--once"], expect_fail=True)
with open(f"{d}/src.db-wal", "r+b") as f: f.truncate(20)
case("-wal truncated to 20 bytes (shorter than its header)", ["--db", f"{d}/src.db", "--log", f"{d}/events.db", "--mode", "wal", "--once"], expect_fail=True)
w.close()
for ok, name, rc, n, msg in results:
    print(("PASS " if ok else "FAIL ") + f"{name}: rc={rc} stderr_lines={n} :: {msg}")
