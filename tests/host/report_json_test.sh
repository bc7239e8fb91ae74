#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# report_json_test.sh REPORT_KV_TEST: liveupdate_report_json() output is
# one valid JSON object (python3 -m json.tool), awkward strings included,
# with the phases as name -> {ns, ms}.
set -u
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

"$bin" --json >"$tmp/report.json" || { echo "FAIL: report_kv_test --json exited $?"; exit 1; }
python3 -m json.tool "$tmp/report.json" >/dev/null ||
	{ echo "FAIL: not valid JSON:"; cat "$tmp/report.json"; exit 1; }
python3 - "$tmp/report.json" <<'PY' || fails=$((fails + 1))
import json, sys
d = json.load(open(sys.argv[1]))
phases = ["preflight", "fork", "holder_own", "exec", "state_read", "remap",
          "stage", "commit", "holder_exit", "total"]
assert list(d["phases"]) == phases, d["phases"]
assert d["phases"]["total"] == {"ns": 123456789012, "ms": 123456.789}
assert d["phases"]["fork"]["ns"] == 2000007
assert d["mdev_wait"]["ms"] == 0.987
assert d["outcome"] == "rolled-back" and d["exit_code"] == 3
assert d["message"].startswith('quote " backslash \\ newline \n tab \t bell \a del \x7f utf8 \u00e9\u20ac\U0001f600 bad \ufffd\ufffd(')
assert d["binary_after"] == "/usr/bin/\ufffdvmm"
assert d["dirty_before"] is True and d["dirty_after"] is None
assert d["holder_cap_ipc_lock"] is True and d["rollback"] is True
assert d["pid_before"] == 1234 and d["pid_after"] == 1240
print("report JSON: valid, fields as written")
PY

# The check's text form ends with its verdict.
"$bin" --check >"$tmp/check.txt" || fails=$((fails + 1))
tail -1 "$tmp/check.txt" | grep -qx "update refused: 2 problem(s)" ||
	{ echo "FAIL: check verdict:"; cat "$tmp/check.txt"; fails=$((fails + 1)); }

[ "$fails" = 0 ] && echo "report_json_test: passed"
[ "$fails" = 0 ]
