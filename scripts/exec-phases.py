#!/usr/bin/env python3
"""Where the time of one `airlock exec -- /bin/true` goes, phase by phase, from the kernel's
own events (perf's sched tracepoints; root). Run on demand, not by the tests:

    scripts/exec-phases.py [AIRLOCK] [RUNS]      # default: airlock on PATH, 20 runs

Each run's phases, medians over the runs (ms):
  exec→main            the executable's start-up until main's first system call
                       (StandardStreams.openClosed's fcntl on fd 0)
  main→first thread    argument parsing and the backend's set-up, until the first thread
  →bwrap exec          sandbox set-up (workspace, uid, cgroup, seccomp) and the spawn
  bwrap→guest exec     bwrap's own work (what raw bwrap also does)
  guest→command exec   the guest's start, its greeting, the exec request
  command exec→exit    /bin/true itself
  command exit→bwrap gone, bwrap gone→airlock exit   the teardown
"""
import os, re, shutil, statistics, subprocess, sys, tempfile

binary = sys.argv[1] if len(sys.argv) > 1 else shutil.which("airlock") or "airlock"
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 20
name = os.path.basename(binary)
data = os.path.join(tempfile.mkdtemp(prefix="airlock-phases-"), "perf.data")
loop = f"for i in $(seq {runs}); do {binary} exec --sandbox bwrap -- /bin/true || exit 1; done"
subprocess.run(["perf", "record", "-q", "-o", data, "-a",
                "-e", "sched:sched_process_exec", "-e", "sched:sched_process_fork",
                "-e", "sched:sched_process_exit", "-e", "syscalls:sys_enter_fcntl",
                "--", "bash", "-c", loop], check=True, stdout=subprocess.DEVNULL)
script = subprocess.run(["perf", "script", "-i", data], capture_output=True, text=True, check=True).stdout
shutil.rmtree(os.path.dirname(data))

event = re.compile(r"^\s*(\S.*?)\s+(\d+)\s+\[\d+\]\s+([\d.]+):\s+(\S+):\s*(.*)$")
found, run, family = [], None, set()
for line in script.splitlines():
    match = event.match(line)
    if not match:
        continue
    comm, pid, at, kind, rest = match.group(1), int(match.group(2)), float(match.group(3)) * 1000, match.group(4), match.group(5)
    if kind == "sched:sched_process_exec" and (f"filename={binary} " in rest + " " or rest.startswith(f"filename={name} ")):
        run = {"exec": at, "pid": pid}
        found.append(run)
        family = {pid}
        continue
    if run is None:
        continue
    if kind == "sched:sched_process_fork":
        parent = int(re.search(r" pid=(\d+)", rest).group(1))
        child = int(re.search(r"child_pid=(\d+)", rest).group(1))
        if parent in family:
            family.add(child)
        if parent == run["pid"]:
            run.setdefault("first_thread", at)
    elif kind == "syscalls:sys_enter_fcntl" and pid == run["pid"] and "fd: 0x00000000, cmd: 0x00000001" in rest:
        run.setdefault("main", at)
    elif kind == "sched:sched_process_exec" and pid in family:
        for key, marker in (("bwrap", "/bwrap"), ("guest", "airlock-guest"), ("true", "/bin/true")):
            if marker in rest:
                run.setdefault(key, at)
    elif kind == "sched:sched_process_exit" and pid in family and "group_dead=true" in rest:
        if comm == "true" and "true" in run:
            run.setdefault("true_exit", at)
        elif comm == "bwrap":
            run["bwrap_exit"] = at
        elif comm not in ("airlock-guest", "true"):
            run["exit"] = max(run.get("exit", 0), at)

phases = [("exec→main", "exec", "main"), ("main→first thread", "main", "first_thread"),
          ("→bwrap exec", "first_thread", "bwrap"), ("bwrap→guest exec", "bwrap", "guest"),
          ("guest→command exec", "guest", "true"), ("command exec→exit", "true", "true_exit"),
          ("command exit→bwrap gone", "true_exit", "bwrap_exit"), ("bwrap gone→airlock exit", "bwrap_exit", "exit"),
          ("whole", "exec", "exit")]
complete = [r for r in found if all(k in r for _, a, b in phases for k in (a, b))]
print(f"{binary}: {len(complete)} of {len(found)} runs traced completely")
for label, start, end in phases:
    values = [r[end] - r[start] for r in complete]
    if values:
        print(f"{label:26s} median {statistics.median(values):6.2f} ms   min {min(values):6.2f}")
