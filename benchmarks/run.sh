#!/usr/bin/env bash
# Runs the peer comparison (this module), the core benchmarks (the
# repository root) and the fleet benchmarks (this module, against a
# redis-server they start), then prints benchstat tables: for the peers one
# row per workload and GOMAXPROCS (the -2 suffix), one column per library,
# each compared with gobreaker v2 (the first column); then circuit's ratio
# to gobreaker for each workload next to the issue's target; then the fleet
# tables (time, allocations and Redis commands per call, propagation).
#
# Knobs (environment): COUNT (default 8), CPU (default 1,2), BENCHTIME
# (default 300ms per benchmark; raise it on a quiet machine), OUT (the
# directory the raw results go to; a fresh temporary one by default), PARTS
# (default "peers core fleet": which of the three to run).
#
# The fleet benchmarks need redis-server (apt-get install redis-server).
# Without it they are skipped with a message, except under CI=true, where
# they run and fail.
set -euo pipefail
cd "$(dirname "$0")"

COUNT=${COUNT:-8}
CPU=${CPU:-1,2}
BENCHTIME=${BENCHTIME:-300ms}
OUT=${OUT:-$(mktemp -d)}
PARTS=${PARTS:-peers core fleet}
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

has() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }

fleet=
if has fleet; then
	if command -v redis-server >/dev/null 2>&1 || [ "${CI:-}" = true ]; then
		fleet=1
	else
		echo "run.sh: redis-server is not installed: skipping the fleet benchmarks (apt-get install redis-server to run them)" >&2
	fi
fi

flags=(-run '^$' -benchmem -count "$COUNT" -cpu "$CPU" -benchtime "$BENCHTIME")
files=()
failed=0
# The peers' benchmarks by name, so that the fleet benchmarks (which need
# Redis, and have lib= columns of their own) stay out of their tables.
if has peers; then
	go test "${flags[@]}" -bench '^Benchmark(Success|Failure|Mix10|Rejection)' . >"$OUT/peers.txt" || failed=1
	files+=("$OUT/peers.txt")
fi
if has core; then
	(cd .. && go test "${flags[@]}" -bench . .) >"$OUT/core.txt" || failed=1
	files+=("$OUT/core.txt")
fi
if [ -n "$fleet" ]; then
	go test "${flags[@]}" -bench '^BenchmarkFleet' . >"$OUT/fleet.txt" || failed=1
	files+=("$OUT/fleet.txt")
fi

# A benchmark that fails its own checks (a breaker that tripped, a wrong
# result) prints --- FAIL but may still leave go test's status at 0.
if [ ${#files[@]} -gt 0 ] && grep -h -A2 -e '--- FAIL' -e '^FAIL' "${files[@]}" || [ "$failed" -ne 0 ]; then
	echo "run.sh: some benchmarks failed (above, or in $OUT)" >&2
	exit 1
fi

if has peers; then
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
fi
if has core; then
	echo
	echo "## Core"
	"$benchstat" "$OUT/core.txt"
fi
if [ -n "$fleet" ]; then
	fcols='/lib@(circuit circuit-fleet gobreaker-distributed)'
	echo
	echo "## Fleet: time per call (ratios are to circuit, the breaker without Redis)"
	"$benchstat" -filter '.name:/^FleetCall/ .unit:sec/op' -col "$fcols" "$OUT/fleet.txt"
	echo
	echo "## Fleet: allocations per call"
	"$benchstat" -filter '.name:/^FleetCall/ .unit:allocs/op' -col "$fcols" "$OUT/fleet.txt"
	echo
	# Redis commands per call only here: benchstat scales a row of 0, 7e-07
	# and 4 to one SI prefix, which reads badly.
	echo "## Fleet: medians and ratios"
	"$benchstat" -format csv -filter '.name:/^FleetCall/ (.unit:sec/op OR .unit:allocs/op OR .unit:redis-cmds/op)' -col "$fcols" "$OUT/fleet.txt" 2>/dev/null |
		awk -F, '
		# Each unit is a block of CSV whose second header line names it in
		# $2; in a data line circuit is $2, circuit-fleet $4 and
		# gobreaker-distributed $8.
		$1 == "" && $2 ~ /\/op$/ { unit = $2; next }
		$1 != "" && $1 != "geomean" && $2 ~ /^[0-9.e+-]+$/ {
			if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
			for (i = 0; i < 3; i++) v[$1, unit, i] = $(2 + (i == 0 ? 0 : (i == 1 ? 2 : 6)))
		}
		END {
			printf "%-20s %10s %10s %8s %12s %8s %9s %9s %9s\n", "workload", "circuit", "fleet", "f/c", "gob-dist", "g/f", "cmds/op:f", "g", "allocs:g"
			for (k = 1; k <= n; k++) {
				w = order[k]
				c = v[w, "sec/op", 0]; f = v[w, "sec/op", 1]; g = v[w, "sec/op", 2]
				printf "%-20s %8.1fns %8.1fns %7.2fx %10.1fµs %7.0fx %9.2g %9.2f %9.0f\n", w, c * 1e9, f * 1e9, f / c, g * 1e6, g / f, v[w, "redis-cmds/op", 1], v[w, "redis-cmds/op", 2], v[w, "allocs/op", 2]
			}
		}'
	echo "(f/c: circuit-fleet over circuit; g/f: gobreaker-distributed over circuit-fleet; cmds/op: Redis commands per call, medians)"
	echo
	echo "## Fleet: propagation, from a trip to Open on each of 15 other replicas (medians of the runs' percentiles)"
	"$benchstat" -format csv -filter '.name:FleetPropagation (.unit:p50-ms OR .unit:p99-ms)' "$OUT/fleet.txt" 2>/dev/null |
		awk -F, '
		$1 == "" && $2 ~ /-ms$/ { unit = $2; next }
		$1 ~ /^FleetPropagation/ && $2 ~ /^[0-9.e+-]+$/ {
			if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
			v[$1, unit] = $2
		}
		END {
			printf "%-32s %9s %9s\n", "benchmark", "p50", "p99"
			for (k = 1; k <= n; k++) printf "%-32s %7.3fms %7.3fms\n", order[k], v[order[k], "p50-ms"], v[order[k], "p99-ms"]
		}'
	echo "(one op is one round, from the trip to the last Open:)"
	"$benchstat" -filter '.name:FleetPropagation .unit:sec/op' "$OUT/fleet.txt"
fi
