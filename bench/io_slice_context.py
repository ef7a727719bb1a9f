#!/usr/bin/env python3
"""What each of gm-io's timeslices cost, by what ran on its CPU before it and on the other CPU.

    bench/io_slice_context.py TRACE.data [TRACE.data ...]

Reads `perf record -a -e sched:sched_switch -e raw_syscalls:sys_enter` traces (made by
bench/admin_run.sh with TRACE=1, the system calls filtered to gm-io). For every timeslice
of the gm-io thread (switched in to switched out) it knows the CPU, its length, how many
system calls gm-io made in it (the work done in the slice: a unary call is ~7), what ran on
that CPU between gm-io's previous slice and this one, and whether the other CPU was idle
when the slice began. It prints, per class (what ran on gm-io's CPU before the slice, for
all slices; what the other CPU ran as it began, for all slices), the slices, their mean
length and system calls, and the length per system call.

Why: by schedstat gm-io's CPU per proxied request rises beside the admin queries while its
user-space instructions do not. If the slices that follow a query thread (or any other task)
on gm-io's CPU take longer per system call than those that follow the idle task, caches
(or, on this VM, the switch between address spaces) cost the extra; if slices begun while
the other CPU is busy take longer than those begun while it is idle, the host's contention
does, and if those begun while the other CPU runs a query thread take longer than those
begun beside another task, the query competes for something the two vCPUs share on the
host. Each comparison is inside one run, so the machine's drift cancels out.
"""
import collections
import re
import subprocess
import sys

SWITCH = re.compile(r"prev_comm=(.*?) prev_pid=(\d+) .*?==> next_comm=(.*?) next_pid=(\d+)")
LINE = re.compile(r"^\s*(.*?)\s+(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s*(.*)$")


def task_class(comm):
    if comm.startswith("swapper"):
        return "idle"
    if comm in ("gm-reader", "idle-load", "gm-io", "gm-writer", "gm-loadgen", "fake-gemini", "admin_bench"):
        return comm
    if comm.startswith("gm-") or comm == "gemini-meter":
        return "gemini-meter other"
    if comm.startswith("fake"):
        return "fake-gemini"
    return "other"


def analyse(path):
    out = subprocess.run(["perf", "script", "-i", path, "-F", "comm,tid,cpu,time,event,trace"],
                         capture_output=True, text=True, check=True).stdout
    current = {}        # cpu -> (comm, tid)
    io_tid = None
    open_slice = None   # (cpu, start, syscalls, class_before, other_busy)
    since = {}          # cpu -> {class: seconds} of what ran there since gm-io left it
    last_switch = {}    # cpu -> time of the last switch
    last_io_cpu = None
    slices = []
    for line in out.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        comm, tid, cpu, t, event, rest = m.group(1), int(m.group(2)), int(m.group(3)), float(m.group(4)), m.group(5), m.group(6)
        if event.endswith("sys_enter"):
            if open_slice is not None and tid == io_tid:
                open_slice[2] += 1
            continue
        if not event.endswith("sched_switch"):
            continue
        s = SWITCH.search(rest)
        if not s:
            continue
        prev_comm, prev_pid, next_comm, next_pid = s.group(1), int(s.group(2)), s.group(3), int(s.group(4))
        if io_tid is None and "gm-io" in (prev_comm, next_comm):
            io_tid = prev_pid if prev_comm == "gm-io" else next_pid
        # Time the previous task held this CPU, charged to its class (for the "since" record).
        if cpu in last_switch and prev_pid != io_tid:
            since.setdefault(cpu, collections.Counter())[task_class(prev_comm)] += t - last_switch[cpu]
        last_switch[cpu] = t
        if prev_pid == io_tid and open_slice is not None and open_slice[0] == cpu:
            c, start, calls, before, other_busy = open_slice
            slices.append((t - start, calls, before, other_busy))
            open_slice = None
            since[cpu] = collections.Counter()
            last_io_cpu = cpu
        if next_pid == io_tid:
            if last_io_cpu is not None and last_io_cpu != cpu:
                before = "migrated"
            else:
                ran = {k: v for k, v in since.get(cpu, {}).items() if k != "idle" and v > 10e-6}
                before = max(ran, key=ran.get) if ran else "idle"
            others = [c for c in current if c != cpu]
            # What the other CPU runs as this slice begins (with 2 CPUs, one task).
            other_busy = ",".join(sorted({task_class(current[c][0]) for c in others})) if others else "?"
            open_slice = [cpu, t, 0, before, other_busy]
        current[cpu] = (next_comm, next_pid)
    return slices


def report(slices, title):
    print(title)
    print(f"  {'before this slice on its CPU':<22} {'other CPU':>12} {'slices':>7} {'us/slice':>9} {'syscalls':>9} {'us/syscall':>11}")
    groups = collections.defaultdict(list)
    for d, calls, before, busy in slices:
        groups[(before, "any")].append((d, calls))
        groups[("all", busy)].append((d, calls))
        groups[("all", "any")].append((d, calls))
    for key in sorted(groups, key=lambda k: (k[0] != "all", -len(groups[k]), k[1])):
        items = groups[key]
        if len(items) < 20:
            continue
        total = sum(d for d, _ in items)
        calls = sum(c for _, c in items)
        print(f"  {key[0]:<22} {key[1]:>12} {len(items):>7} {total / len(items) * 1e6:>9.1f} {calls / len(items):>9.2f} "
              f"{(total / calls * 1e6) if calls else 0:>11.2f}")


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    for path in sys.argv[1:]:
        report(analyse(path), path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
