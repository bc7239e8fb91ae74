#!/bin/bash
# liveupdate_cli: the `liveupdate` command against a running refvmm in the
# VM, each way an update can end, with its exit code (liveupdate(1)):
#   check with everything in place              0, "update possible"
#   exec into a binary that does not exist      3, same pid, runs on
#   exec into a binary that exits at once       3, new pid (the holder
#                                               restarted the previous one)
#   exec into a binary that hangs (--timeout 3) 3, new pid
#   exec while RLIMIT_MEMLOCK is below VmLck    4, refused, nothing changed
#   (without CAP_IPC_LOCK)
#   exec into refvmm-next                       0, same pid, version 2
# and after each: DMA goes on with no failure, the guest counter has no
# gap, VmLck is what it was.  Output in kselftest's TAP form.
#
#   liveupdate_cli.sh BUILD
set -uo pipefail
build=$(readlink -f "${1:?usage: liveupdate_cli.sh BUILD}")
lu=$build/bin/liveupdate
refvmm=$build/bin/refvmm
next=$build/bin/refvmm-next
sock=/run/lu-cli.sock
work=/run/lu-cli
mkdir -p "$work"

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n $*"; }
expect() {	# expect WHAT CONDITION-STATUS
	if [ "$2" = 0 ]; then ok "$1"; else not_ok "$1"; fi
}

# One status listing, then fields of it (one snapshot: the counters move).
# Builtins where they do: on the debug kernel under TCG every process
# started costs about a second.
snap() { "$lu" status --socket "$sock" >"$work/status.txt" 2>/dev/null; }
get() {
	local k v
	while read -r k v _; do
		[ "$k" = "$1" ] && { echo "$v"; return; }
	done <"$work/status.txt"
}
field() { snap; get "$1"; }

wait_ready() {
	for _ in {1..100}; do
		[ "$(field dma_ok)" -gt 2 ] 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}

# The VMM is healthy: DMA continued since $1 round trips, none failed,
# the counter has no gap, VmLck is $2.
healthy() {
	local dma0=$1 lck0=$2 dma
	sleep 2
	snap
	dma=$(get dma_ok)
	echo "# dma_ok $dma (was $dma0) dma_failed $(get dma_failed)" \
		"mdev_failed $(get mdev_failed) counter $(get guest_counter)" \
		"expected $(get guest_counter_expected) vmlck $(get vmlck_kb) (was $lck0)"
	[ "${dma:-0}" -gt "$dma0" ] && [ "$(get dma_failed)" = 0 ] &&
		[ "$(get mdev_failed)" = 0 ] &&
		[ "$(get guest_counter)" = "$(get guest_counter_expected)" ] &&
		[ "$(get vmlck_kb)" = "$lck0" ]
}

stop_vmm() {
	local p
	p=$(field pid)
	[ -n "$p" ] || return 0
	kill -TERM "$p"
	for _ in {1..100}; do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
	rm -f "$sock"
}

echo "TAP version 13"
echo "1..13"
# RLIMIT_MEMLOCK below what would be charged, without CAP_IPC_LOCK: the
# preflight refuses and nothing changes.  The VMM must lack CAP_IPC_LOCK
# (capsh drops it from the bounding set before refvmm is exec'd) and get
# its limit lowered once it has mapped its RAM (16 MiB, charged in full
# with edu attached).
prlimit --memlock=67108864:67108864 \
	capsh --drop=cap_ipc_lock -- -c "exec '$refvmm' --socket '$sock' --mem 16" \
	2>"$work/refvmm-nocap.log" &
wait_ready
expect "refvmm without CAP_IPC_LOCK up and DMAing" $?
pid=$(field pid); lck=$(field vmlck_kb); dma=$(field dma_ok)
prlimit --pid "$pid" --memlock=4194304:4194304
"$lu" exec --vmm ref --socket "$sock" --timeout 20 -- "$next" >"$work/refused.txt"
rc=$?
grep -q "^outcome: *refused" "$work/refused.txt"
expect "exec over RLIMIT_MEMLOCK without CAP_IPC_LOCK: exit $rc (4), refused" $(( rc != 4 || $? != 0 ))
healthy "$dma" "$lck" && [ "$(field pid)" = "$pid" ] && [ "$(field version)" = 1 ]
expect "  nothing changed: same pid $pid, version 1, DMA on, VmLck $lck kB" $?
stop_vmm

"$refvmm" --socket "$sock" --mem 64 2>"$work/refvmm.log" &
wait_ready
expect "refvmm up and DMAing" $?
lck=$(field vmlck_kb)

"$lu" check --vmm ref --socket "$sock" >"$work/check.txt"
rc=$?
grep -q "update possible" "$work/check.txt"
expect "check: exit $rc, update possible" $(( rc != 0 || $? != 0 ))

# exec failure: the old binary takes its mappings back, same pid.
pid=$(field pid); dma=$(field dma_ok)
"$lu" exec --vmm ref --socket "$sock" --timeout 20 -- /nonexistent/vmm >"$work/enoent.txt"
rc=$?
grep -q "^outcome: *rolled-back" "$work/enoent.txt"
expect "exec of a missing binary: exit $rc (3), rolled back" $(( rc != 3 || $? != 0 ))
healthy "$dma" "$lck" && [ "$(field pid)" = "$pid" ]
expect "  same pid $pid, DMA on, no gap, VmLck $lck kB" $?

# The new binary exits at once: the holder restarts the previous one.
dma=$(field dma_ok)
"$lu" exec --vmm ref --socket "$sock" --timeout 20 -- /bin/false >"$work/false.txt"
rc=$?
grep -q "^outcome: *rolled-back" "$work/false.txt"
expect "exec into /bin/false: exit $rc (3), rolled back" $(( rc != 3 || $? != 0 ))
wait_ready
healthy 0 "$lck" && [ "$(field pid)" != "$pid" ]
expect "  previous binary restarted (pid $pid -> $(field pid)), DMA on, no gap" $?
pid=$(field pid)

# The new binary hangs: killed after the timeout, previous one restarted.
"$lu" exec --vmm ref --socket "$sock" --timeout 3 -- /bin/sleep 600 >"$work/hang.txt"
rc=$?
grep -q "did not commit in time" "$work/hang.txt"
expect "exec into a hanging binary: exit $rc (3), killed after the timeout" $(( rc != 3 || $? != 0 ))
wait_ready
healthy 0 "$lck" && [ "$(field pid)" != "$pid" ]
expect "  previous binary restarted (pid $pid -> $(field pid)), DMA on, no gap" $?
pid=$(field pid)

# Finally the real update.
dma=$(field dma_ok)
"$lu" exec --vmm ref --socket "$sock" --timeout 20 -- "$next" >"$work/update.txt"
rc=$?
grep -q "^outcome: *updated" "$work/update.txt"
expect "exec into refvmm-next: exit $rc (0), updated" $(( rc != 0 || $? != 0 ))
healthy "$dma" "$lck" && [ "$(field pid)" = "$pid" ] && [ "$(field version)" = 2 ]
expect "  same pid $pid, version 2, DMA on, no gap, VmLck $lck kB" $?

stop_vmm
if [ "$failed" -gt 0 ]; then
	for f in "$work"/*.txt "$work"/*.log; do echo "# --- $f"; sed 's/^/# /' "$f"; done
fi
echo "# Totals: pass:$((n - failed)) fail:$failed xfail:0 xpass:0 skip:0 error:0"
[ "$failed" = 0 ]
