#!/usr/bin/env bash
# Runs the peer comparison (this module) and the core benchmarks (the
# repository root), then prints benchstat tables: for the peers one row per
# workload and GOMAXPROCS (the -2 suffix), one column per library, each
# compared with gobreaker v2 (the first column); then circuit's ratio to
# gobreaker for each workload next to the issue's target.
#
# Knobs (environment): COUNT (default 8), CPU (default 1,2), BENCHTIME
# (default 300ms per benchmark; raise it on a quiet machine), OUT (the
# directory the raw results go to; a fresh temporary one by default).
set -euo pipefail
cd "$(dirname "$0")"

COUNT=${COUNT:-8}
CPU=${CPU:-1,2}
BENCHTIME=${BENCHTIME:-300ms}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"

benchstat=$(command -v benchstat || true)
if [ -z "$benchstat" ]; then
	benchstat="$(go env GOPATH)/bin/benchstat"
	if [ ! -x "$benchstat" ]; then
		go install golang.org/x/perf/cmd/benchstat@latest
	fi
fi

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(go version), $(nproc) CPUs, -count $COUNT -cpu $CPU -benchtime $BENCHTIME"
echo "# raw results in $OUT"

flags=(-run '^$' -bench . -benchmem -count "$COUNT" -cpu "$CPU" -benchtime "$BENCHTIME")
go test "${flags[@]}" . >"$OUT/peers.txt"
(cd .. && go test "${flags[@]}" .) >"$OUT/core.txt"

# A benchmark that fails its own checks (a breaker that tripped, a wrong
# result) prints --- FAIL but may still leave go test's status at 0.
if grep -h -A2 -- '--- FAIL' "$OUT/peers.txt" "$OUT/core.txt"; then
	echo "run.sh: some benchmarks failed their checks (above)" >&2
	exit 1
fi

cols='/lib@(gobreaker circuit failsafe hystrix eapache direct)'
echo
echo "## Peers: time per call (ratios are to gobreaker)"
"$benchstat" -filter '.unit:sec/op' -col "$cols" "$OUT/peers.txt"
echo
echo "## Peers: allocations per call"
"$benchstat" -filter '.unit:allocs/op' -col "$cols" "$OUT/peers.txt"
echo
echo "## circuit / gobreaker (medians) against the targets of issue 4"
"$benchstat" -format csv -filter '.unit:sec/op' -col "$cols" "$OUT/peers.txt" 2>/dev/null |
	awk -F, '
	BEGIN {
		target["Success"] = 0.7; target["Success-2"] = 0.7
		target["Mix10"] = 0.75; target["Mix10-2"] = 0.75
		target["Rejection"] = 0.5; target["Rejection-2"] = 0.5
		target["SuccessParallel-2"] = 0.7; target["RejectionParallel-2"] = 0.6
		printf "%-22s %12s %12s %7s %7s\n", "workload", "gobreaker", "circuit", "ratio", "target"
	}
	$1 != "" && $2 ~ /^[0-9.e+-]+$/ && $4 ~ /^[0-9.e+-]+$/ {
		r = $4 / $2
		t = ($1 in target) ? sprintf("<= %.2f", target[$1]) : "-"
		v = ($1 in target) ? (r <= target[$1] ? "met" : "MISSED") : ""
		printf "%-22s %10.1fns %10.1fns %7.2f %7s %s\n", $1, $2 * 1e9, $4 * 1e9, r, t, v
	}'
echo
echo "## Core"
"$benchstat" "$OUT/core.txt"
