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

cols='/lib@(gobreaker circuit circuit-time circuit-allow failsafe hystrix eapache direct)'
echo
echo "## Peers: time per call (ratios are to gobreaker)"
"$benchstat" -filter '.unit:sec/op' -col "$cols" "$OUT/peers.txt"
echo
echo "## Peers: allocations per call"
"$benchstat" -filter '.unit:allocs/op' -col "$cols" "$OUT/peers.txt"
echo
echo "## circuit / gobreaker (medians) against the targets of the core v1 issue"
"$benchstat" -format csv -filter '.unit:sec/op' -col "$cols" "$OUT/peers.txt" 2>/dev/null |
	awk -F, '
	BEGIN {
		# CSV columns: name, gobreaker, CI, then for each other library its
		# value, CI, change and p-value: circuit $4, circuit-time $8,
		# circuit-allow $12.
		count["Success"] = 0.6; count["Success-2"] = 0.6
		count["Mix10"] = 0.65; count["Mix10-2"] = 0.65
		count["Rejection"] = 0.2; count["Rejection-2"] = 0.2
		count["SuccessParallel-2"] = 0.65; count["RejectionParallel-2"] = 0.3
		timed["Success"] = 0.7; timed["Success-2"] = 0.7
		printf "%-22s %11s %11s %6s %7s %11s %6s %7s %11s %9s\n", "workload", "gobreaker", "circuit", "ratio", "target", "time-win", "ratio", "target", "allow", "allow/exe"
	}
	$1 != "" && $2 ~ /^[0-9.e+-]+$/ && $4 ~ /^[0-9.e+-]+$/ {
		r = $4 / $2; rt = $8 / $2; ra = $12 / $4
		t = ($1 in count) ? sprintf("<=%.2f%s", count[$1], r <= count[$1] ? "" : "!") : "-"
		tt = ($1 in timed) ? sprintf("<=%.2f%s", timed[$1], rt <= timed[$1] ? "" : "!") : "-"
		printf "%-22s %9.1fns %9.1fns %6.2f %7s %9.1fns %6.2f %7s %9.1fns %6.2f%s\n", $1, $2 * 1e9, $4 * 1e9, r, t, $8 * 1e9, rt, tt, $12 * 1e9, ra, ra <= 1.15 ? "" : "!"
	}'
echo "(! marks a missed target; allow/exe is circuit-allow over circuit, target <= 1.15)"
echo
echo "## Core"
"$benchstat" "$OUT/core.txt"
