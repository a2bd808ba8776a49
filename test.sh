#!/usr/bin/env bash
# Runs every test of every module in the repository (the main module and the
# separate exporter and benchmark modules) under the race detector.
set -euo pipefail
cd "$(dirname "$0")"
status=0
while read -r m; do
	echo "== go test -race ./... in $m"
	(cd "$m" && go test -race ./...) || status=1
done < <(find . -name go.mod -not -path './.git/*' -printf '%h\n' | sort)
exit $status
