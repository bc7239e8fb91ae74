#!/bin/bash
# Section 2 of the benchmark (docs/performance.md), run inside the test VM
# after vfio_bench: the whole live update of the reference VMM with
# `liveupdate exec` (every phase) against the same VMM restarted, which
# maps and pins its guest RAM again, at each guest RAM size.
#
#   bench/lu_update.sh BUILD OUT MIB...
#
# BUILD holds bin/refvmm, bin/refvmm-next and bin/liveupdate.  For each
# size: refvmm --mem MIB --no-mdev (edu DMAing from its agent), then
#   - `liveupdate exec --json` into refvmm-next: the VMM's pause is the
#     report's total (liveupdate_exec() runs in the VMM's own loop), the
#     time the device's DMA is held off is the longest interval between
#     the agent's edu round trips during the update (dma_max_interval_ms);
#   - restart: SIGTERM, start refvmm again, until its agent has done one
#     edu round trip: pause and DMA held off are both that whole time.
# Appends rows to OUT/results.csv (vfio_bench's columns) and prints them.
set -uo pipefail

[ $# -ge 3 ] || { echo "usage: $0 BUILD OUT MIB..." >&2; exit 2; }
build=$1 out=$2
shift 2
refvmm=$build/bin/refvmm next=$build/bin/refvmm-next lu=$build/bin/liveupdate
for f in "$refvmm" "$next" "$lu"; do
	[ -x "$f" ] || { echo "lu_update: $f not built" >&2; exit 2; }
done
sock=/run/bench-refvmm.sock
work=/run/bench-lu
mkdir -p "$work" "$out"
pid=

ms_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }'; }
field() { "$lu" status --socket "$sock" 2>/dev/null | awk -v k="$1" '$1 == k { print $2; exit }'; }

# Start refvmm with MIB of RAM; wait until its agent has done N round trips.
start() {
	"$refvmm" --socket "$sock" --mem "$1" --no-mdev </dev/null >/dev/null \
		2>>"$work/refvmm.log" &
	pid=$!
	for _ in $(seq 6000); do
		[ "$(field dma_ok)" -ge "$2" ] 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.01
	done
	return 1
}

stop() {
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
}
trap stop EXIT

row() {	# name unit ours peer_name peer
	local ratio
	ratio=$(awk -v o="$3" -v p="$5" 'BEGIN { if (o > 0 && p > 0) printf "%.4g", p / o; else print "nan" }')
	printf 'update,"%s",%s,%s,"%s",%s,%s,-,-\n' "$1" "$2" "$3" "$4" "$5" "$ratio" >>"$out/results.csv"
	printf '| update   | %-58s | %-6s | %11s | %-26s | %11s | %8s | -      -\n' \
		"$1" "$2" "$3" "$4" "$5" "$ratio"
}

bad=0
for mib in "$@"; do
	echo "[bench] liveupdate exec against restart: $mib MiB" >&2
	if ! start "$mib" 5; then
		echo "lu_update: refvmm --mem $mib did not come up:" >&2
		tail -n 3 "$work/refvmm.log" >&2
		bad=1
		stop
		continue
	fi
	json=$work/update-$mib.json
	"$lu" exec --vmm ref --socket "$sock" --json "$json" -- "$next" \
		>"$work/exec-$mib.txt" 2>&1
	rc=$?
	# (No process substitution: the guest has no /dev/fd.)
	vals=$(python3 - "$json" <<'PY'
import json, sys
try:
    j = json.load(open(sys.argv[1]))
    ph = j["report"]["phases"]
    print(ph["total"]["ms"], ph["commit"]["ms"],
          j["vmm"]["dma_max_interval_ms"])
except Exception:
    print("nan nan nan")
PY
)
	read -r total commit held <<<"$vals"
	stop
	[ "$rc" = 0 ] || { echo "lu_update: liveupdate exec exited $rc at $mib MiB" >&2; bad=1; }
	t0=$(date +%s.%N)
	start "$mib" 1 || bad=1
	restart=$(ms_since "$t0")
	stop
	row "refvmm $mib MiB: VMM pause (exec total / restart)" ms "$total" "restart, re-map" "$restart"
	row "refvmm $mib MiB: DMA held off (longest gap / restart)" ms "$held" "restart, re-map" "$restart"
	row "refvmm $mib MiB: commit phase" ms "$commit" "restart, re-map" "$restart"
done
cp "$work"/*.json "$out"/ 2>/dev/null
exit "$bad"
