#!/usr/bin/env bash
# Runs the peer comparison (this module) and the core benchmarks (the
# repository root), then prints benchstat tables: for the peers one row per
# workload and GOMAXPROCS, one column per library, each compared with
# gobreaker v2 (the first column).
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

go test -run '^$' -bench . -benchmem -count "$COUNT" -cpu "$CPU" -benchtime "$BENCHTIME" . >"$OUT/peers.txt"
(cd .. && go test -run '^$' -bench . -benchmem -count "$COUNT" -cpu "$CPU" -benchtime "$BENCHTIME" .) >"$OUT/core.txt"

echo
echo "## Peers (ratios are to gobreaker)"
"$benchstat" -col '/lib@(gobreaker circuit failsafe hystrix eapache direct)' "$OUT/peers.txt"
echo
echo "## Core"
"$benchstat" "$OUT/core.txt"
