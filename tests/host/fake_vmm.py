#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A fake VMM for the liveupdate command's host tests: it speaks refvmm's
control protocol (docs/orchestrator.md) on a UNIX socket and answers one
connection with a canned reply, logging the request it got.

fake_vmm.py --socket PATH --reply KIND [--log FILE]

KIND: updated, remapped, rolled-back, refused, lost (an exec report);
cut (a report cut short: no empty line), no-outcome (the VMM would not
run the update), garbage (a line without '='); check-ok, check-fail,
check-error; status; silent (reads the request, never answers).
"""
import argparse
import os
import socket
import time

PHASES = ["preflight", "fork", "holder_own", "exec", "state_read", "remap",
          "stage", "commit", "holder_exit", "total"]


def report(outcome, **over):
    """The report as liveupdate_report_write_kv() writes it."""
    kv = {
        "version": 1, "outcome": outcome, "error": 0, "step": "",
        "message": "updated into /usr/bin/refvmm-next",
        "pid_before": 4242, "pid_after": 4242, "holder_pid": 4243,
        "binary_before": "/usr/bin/refvmm",
        "binary_after": "/usr/bin/refvmm-next",
        "nr_regions": 2, "bytes": 1 << 30, "mdev_wait_ns": 812345,
        "vmlck_before_kb": 0, "vmlck_holder_kb": 1048576,
        "vmlck_after_kb": 0, "pins_acquired": 0,
        "holder_cap_ipc_lock": 0, "dirty_before": 1, "dirty_after": 1,
        "rollback": 0,
    }
    kv.update(over)
    lines = ["%s=%s" % (k, v) for k, v in kv.items()]
    lines += ["phase_ns.%s=%d" % (p, 1000000 * (i + 1) + 234567)
              for i, p in enumerate(PHASES)]
    # A newer VMM's key: must be ignored.
    lines.append("future_key=whatever")
    return lines


VMM = ["vmm.guest_counter=123456", "vmm.guest_counter_expected=123456",
       "vmm.dma_failed=0", "vmm.note=paused 0 ms"]

REPLIES = {
    "updated": report("updated") + VMM,
    "remapped": report("updated-remapped", holder_cap_ipc_lock=0,
                       message="holder died: every region mapped again") + VMM,
    "rolled-back": report("rolled-back", error=2, step="exec",
                          message="execve: No such file or directory",
                          pid_after=4244, rollback=1,
                          binary_after="/usr/bin/refvmm") + VMM,
    "refused": report("refused", error=12, step="preflight",
                      message="RLIMIT_MEMLOCK too low") + VMM,
    "lost": report("lost", error=5, step="commit",
                   message="ownership could not be taken back") + VMM,
    "no-outcome": ["error=16", "message=an update is already running"],
    "garbage": report("updated") + ["this line has no equals sign"],
    "check-ok": ["nr_fail=0", "nr_warn=1",
                 "finding=ok module: vfio_iommu_lu loaded, VFIO_DMA_OWNER present",
                 "finding=ok memlock: RLIMIT_MEMLOCK unlimited",
                 "finding=warn fds: 2 descriptors will be closed at exec"],
    "check-fail": ["nr_fail=1", "nr_warn=0",
                   "finding=ok module: vfio_iommu_lu loaded",
                   "finding=fail memlock: RLIMIT_MEMLOCK 64 MiB < 128 MiB to be charged",
                   "finding=ok region 0: shared memfd, 64 MiB"],
    "check-error": ["error=22", "message=no container yet"],
    "status": ["pid=4242", "binary=/usr/bin/refvmm", "version=1.0",
               "uptime_ms=5000", "mem_mib=64", "hugetlb=0", "dirty=1",
               "updates=3", "guest_counter=991", "dma_ok=10",
               "mdev_pin_max_us=017", "vmlck_kb=0"],
}


def read_request(conn):
    data = b""
    while not (data.startswith(b"\n") or b"\n\n" in data):
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    ap.add_argument("--reply", required=True,
                    choices=sorted(REPLIES) + ["cut", "silent"])
    ap.add_argument("--log")
    a = ap.parse_args()

    # Listen before the path appears: a client that sees it can connect.
    tmp = a.socket + ".tmp"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(tmp)
    srv.listen(1)
    os.rename(tmp, a.socket)
    srv.settimeout(30)
    conn, _ = srv.accept()
    req = read_request(conn)
    if a.log:
        with open(a.log, "wb") as f:
            f.write(req)
    if a.reply == "silent":
        conn.settimeout(30)
        try:
            conn.recv(1)	# until the client gives up
        except OSError:
            pass
    elif a.reply == "cut":
        # Half a report, then the VMM is gone.
        lines = report("updated")[:5]
        conn.sendall(("\n".join(lines) + "\n").encode())
        time.sleep(0.05)
    else:
        conn.sendall(("\n".join(REPLIES[a.reply]) + "\n\n").encode())
    conn.close()
    srv.close()
    os.unlink(a.socket)


if __name__ == "__main__":
    main()
