#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# cli_test.sh LIVEUPDATE: the liveupdate command's options, help and exit
# codes, against fake_vmm.py (refvmm's protocol with canned replies).
set -u
lu=$(realpath "$1")
fake=$(dirname "$0")/fake_vmm.py
tmp=$(mktemp -d)
sock=$tmp/vmm.sock
fake_pid=
trap '[ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0 passes=0

pass() { passes=$((passes + 1)); }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# run WANT_EXIT NAME COMMAND...: stdout in $tmp/out, stderr in $tmp/err.
run() {
	local want=$1 name=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	local got=$?
	if [ "$got" != "$want" ]; then
		fail "$name: exited $got, expected $want"
		sed 's/^/  stderr: /' "$tmp/err"
		return 1
	fi
	pass
}

# usage WANT_EXIT NAME ARGS...: a usage error explains itself on stderr.
usage() {
	local name=$1
	shift
	run 2 "$name" "$lu" "$@" || return
	[ -s "$tmp/err" ] && pass || fail "$name: no message on stderr"
}

# contains FILE TEXT NAME
contains() {
	grep -qF -- "$2" "$1" && pass || fail "$3: '$2' not in $(basename "$1")"
}

# serve KIND: a fake VMM for one connection on $sock.
serve() {
	rm -f "$sock" "$tmp/request"
	python3 "$fake" --socket "$sock" --reply "$1" --log "$tmp/request" &
	fake_pid=$!
	for _ in $(seq 200); do
		[ -S "$sock" ] && return 0
		sleep 0.05
	done
	fail "fake VMM ($1) did not start"
	return 1
}

served() {
	wait "$fake_pid" 2>/dev/null
	fake_pid=
}

# json_ok FILE PYTHON_EXPR NAME: FILE is one JSON object d, EXPR holds.
json_ok() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert eval("(" + sys.argv[2] + ")"), sys.argv[2]
' "$1" "$2" 2>"$tmp/pyerr" && pass || { fail "$3: $(tail -1 "$tmp/pyerr")"; }
}

# ---- usage errors: 2, with a message ----
usage "no arguments"
usage "unknown global option" --frob
usage "unknown command" frobnicate
usage "unknown exec option" exec --vmm ref --socket "$sock" --frob -- /bin/true
usage "unknown --vmm" exec --vmm qemu --socket "$sock" -- /bin/true
contains "$tmp/err" "ref" "unknown --vmm lists the profiles"
usage "unknown --vmm (check)" check --vmm nope --socket "$sock"
usage "exec without --vmm" exec --socket "$sock" -- /bin/true
usage "exec without --socket" exec --vmm ref -- /bin/true
usage "exec without NEW_BINARY" exec --vmm ref --socket "$sock"
usage "exec with a bad --timeout" exec --vmm ref --socket "$sock" --timeout 1x -- /bin/true
usage "exec with --timeout 0" exec --vmm ref --socket "$sock" --timeout 0 -- /bin/true
usage "check without --vmm" check --socket "$sock"
usage "check with an extra argument" check --vmm ref --socket "$sock" extra
usage "status without --socket" status
usage "status --json takes no file" status --socket "$sock" --json=x
usage "help of an unknown command" help frobnicate
usage "a newline in an argument" exec --vmm ref --socket "$sock" -- /bin/true "$(printf 'a\nb')"

# ---- help: 0, every exit code documented ----
run 0 "--help" "$lu" --help
for code in 0 1 2 3 4 5; do
	grep -qE "^  $code  " "$tmp/out" && pass || fail "--help does not document exit code $code"
done
for c in exec check status; do
	run 0 "$c --help" "$lu" "$c" --help
	contains "$tmp/out" "Usage: liveupdate $c" "$c --help"
	run 0 "help $c" "$lu" help "$c"
done
run 0 "--version" "$lu" --version

# ---- no VMM: 1, naming the socket ----
run 1 "status, no socket" "$lu" status --socket /nonexistent/vmm.sock
contains "$tmp/err" "/nonexistent/vmm.sock" "status, no socket"
run 1 "exec, no socket" "$lu" exec --vmm ref --socket /nonexistent/vmm.sock -- /bin/true
contains "$tmp/err" "nothing was asked" "exec, no socket"
run 1 "check, no socket" "$lu" check --vmm ref --socket /nonexistent/vmm.sock

# ---- exec against the fake VMM ----
serve updated && {
	run 0 "exec updated" "$lu" exec --vmm ref --socket "$sock" --timeout 5 \
		--json "$tmp/report.json" -- /bin/true --resume "two words"
	served
	printf 'exec\ntimeout_ms=5000\npath=%s\narg=/bin/true\narg=--resume\narg=two words\n\n' \
		"$(realpath /bin/true)" >"$tmp/want"
	cmp -s "$tmp/request" "$tmp/want" && pass ||
		{ fail "exec request differs:"; diff "$tmp/want" "$tmp/request"; }
	contains "$tmp/out" "outcome:             updated" "exec updated: report"
	contains "$tmp/out" "VMM:" "exec updated: VMM section"
	contains "$tmp/out" "guest_counter" "exec updated: VMM keys"
	contains "$tmp/out" "10.234" "exec updated: total in ms"
	json_ok "$tmp/report.json" 'd["report"]["outcome"] == "updated" and
		d["report"]["phases"]["total"]["ns"] == 10234567 and
		d["report"]["phases"]["total"]["ms"] == 10.234 and
		d["report"]["phases"]["exec"]["ms"] == 4.234 and
		d["report"]["dirty_after"] is True and
		d["vmm"]["guest_counter"] == 123456 and
		d["vmm"]["note"] == "paused 0 ms"' "exec --json FILE"
}

serve remapped && {
	run 0 "exec updated-remapped" "$lu" exec --vmm ref --socket "$sock" -- /bin/true
	served
}

# A relative path that does not exist is still sent, made absolute: the
# VMM's exec fails and it rolls back (exit 3).
serve rolled-back && {
	(cd "$tmp" && "$lu" exec --vmm ref --socket "$sock" -- ./no-such-binary \
		>"$tmp/out" 2>"$tmp/err")
	got=$?
	served
	[ "$got" = 3 ] && pass || fail "exec rolled-back: exited $got, expected 3"
	grep -qxF "path=$(realpath "$tmp")/no-such-binary" "$tmp/request" && pass ||
		fail "a missing relative binary is not sent as an absolute path"
	grep -qxF "arg=./no-such-binary" "$tmp/request" && pass ||
		fail "argv[0] is not NEW_BINARY as given"
	grep -qxF "timeout_ms=60000" "$tmp/request" && pass ||
		fail "the default timeout is not 60 s"
	contains "$tmp/out" "rolled-back" "exec rolled-back: report"
}

serve refused && {
	run 4 "exec refused" "$lu" exec --vmm ref --socket "$sock" -- /bin/true
	served
}

serve lost && {
	run 5 "exec lost" "$lu" exec --vmm ref --socket "$sock" --json - -- /bin/true
	served
	json_ok "$tmp/out" 'd["report"]["outcome"] == "lost" and
		d["report"]["exit_code"] == 5 and
		len(d["report"]["phases"]) == 10' "exec --json - (only JSON on stdout)"
}

serve cut && {
	run 1 "exec, reply cut short" "$lu" exec --vmm ref --socket "$sock" -- /bin/true
	served
	contains "$tmp/err" "unknown" "exec, reply cut short: says the outcome is unknown"
}

serve no-outcome && {
	run 1 "exec, the VMM would not update" "$lu" exec --vmm ref --socket "$sock" -- /bin/true
	served
	contains "$tmp/err" "already running" "exec, the VMM would not update: its message"
}

serve garbage && {
	run 1 "exec, malformed reply" "$lu" exec --vmm ref --socket "$sock" -- /bin/true
	served
}

# ---- check ----
serve check-ok && {
	run 0 "check ok" "$lu" check --vmm ref --socket "$sock"
	served
	grep -qxF "check" "$tmp/request" && pass || fail "check request"
	contains "$tmp/out" "update possible" "check ok: verdict"
}

serve check-fail && {
	run 4 "check fail" "$lu" check --vmm ref --socket "$sock" --json "$tmp/check.json"
	served
	contains "$tmp/out" "update refused: 1 problem(s)" "check fail: verdict"
	contains "$tmp/out" "RLIMIT_MEMLOCK 64 MiB < 128 MiB" "check fail: finding"
	json_ok "$tmp/check.json" 'd["verdict"] == "refused" and d["nr_fail"] == 1 and
		d["findings"][2]["what"] == "region 0"' "check --json"
}

serve check-error && {
	run 1 "check the VMM could not run" "$lu" check --vmm ref --socket "$sock"
	served
}

# ---- status ----
serve status && {
	run 0 "status" "$lu" status --socket "$sock"
	served
	grep -qxF "status" "$tmp/request" && pass || fail "status request"
	grep -qE '^guest_counter +991$' "$tmp/out" && pass || fail "status: aligned key value"
}

serve status && {
	run 0 "status --json" "$lu" status --socket "$sock" --json
	served
	json_ok "$tmp/out" 'd["pid"] == 4242 and d["binary"] == "/usr/bin/refvmm" and
		d["version"] == "1.0" and d["mdev_pin_max_us"] == "017"' "status --json"
}

serve silent && {
	start=$(date +%s)
	run 1 "status, no answer" "$lu" status --socket "$sock" --timeout 1
	[ $(($(date +%s) - start)) -le 5 ] && pass || fail "status --timeout 1 waited too long"
	served
}

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
