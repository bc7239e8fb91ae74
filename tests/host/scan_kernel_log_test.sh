#!/usr/bin/env bash
# Host test of tools/lib/scan-kernel-log on saved kernel logs: reports must
# be caught, expected noise must not be.
set -u
scan=$(dirname "$0")/../../tools/lib/scan-kernel-log
data=$(dirname "$0")/data
fails=0 passes=0
check() {	# check WANT_EXIT FILE
	"$scan" "$data/$2" >/dev/null
	local got=$?
	if [ "$got" = "$1" ]; then
		passes=$((passes + 1))
	else
		echo "FAIL: $2: scan exited $got, expected $1"
		fails=$((fails + 1))
	fi
}
check 0 clean.log
check 1 warn.log
check 1 lockdep.log
check 1 kasan.log
check 0 dmar-fault.log
check 0 debug-boot-clean.log
check 0 kmemleak-scan.log
"$scan" /nonexistent && passes=$((passes + 1)) || { echo "FAIL: missing file"; fails=$((fails + 1)); }
echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
