#!/usr/bin/env bash
# Rewrites the benchmark block of the write-up from the results database:
#   tools/update-benchmark-writeup.sh [DB [WRITEUP]]
# DB defaults to results/optimizer-benchmark.sqlite (else its committed .xz; a DB ending in .xz is
# decompressed to a temporary file first), WRITEUP to results/README.md (relative to
# the repository root when run from anywhere). The text between the lines
# `<!-- benchmark:begin -->` and `<!-- benchmark:end -->` becomes the output of
# `trainlab benchmark $EXPERIMENT --db DB --format markdown`; everything else is kept as it is.
# EXPERIMENT: the environment's BENCHMARK_EXPERIMENT, default optimizer-benchmark.
# TRAINLAB: the binary to use; default .build/release/trainlab, else .build/debug/trainlab,
# else `swift run -c release trainlab`.
# Exit status: 0 rewritten, 2 a missing file or markers, else trainlab's status.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
db="${1:-$root/results/optimizer-benchmark.sqlite}"
# The committed database is xz-compressed: without a decompressed copy, read that.
if [[ $# -eq 0 && ! -f "$db" && -f "$db.xz" ]]; then db="$db.xz"; fi
writeup="${2:-$root/results/README.md}"
experiment="${BENCHMARK_EXPERIMENT:-optimizer-benchmark}"
begin='<!-- benchmark:begin -->'
end='<!-- benchmark:end -->'

if [[ $# -gt 2 ]]; then echo "usage: $0 [DB [WRITEUP]]" >&2; exit 2; fi
if [[ ! -f "$db" ]]; then echo "$0: no database $db" >&2; exit 2; fi
if [[ ! -f "$writeup" ]]; then echo "$0: no write-up $writeup" >&2; exit 2; fi
begins=$(grep -cxF -- "$begin" "$writeup" || true)
ends=$(grep -cxF -- "$end" "$writeup" || true)
first_begin=$(grep -nxF -- "$begin" "$writeup" | head -1 | cut -d: -f1)
first_end=$(grep -nxF -- "$end" "$writeup" | head -1 | cut -d: -f1)
if [[ "$begins" != 1 || "$ends" != 1 || "$first_begin" -ge "$first_end" ]]; then
    echo "$0: $writeup needs one line '$begin' followed later by one line '$end'" >&2
    exit 2
fi

if [[ -n "${TRAINLAB:-}" ]]; then
    trainlab=("$TRAINLAB")
elif [[ -x "$root/.build/release/trainlab" ]]; then
    trainlab=("$root/.build/release/trainlab")
elif [[ -x "$root/.build/debug/trainlab" ]]; then
    trainlab=("$root/.build/debug/trainlab")
else
    trainlab=(swift run --package-path "$root" -c release trainlab)
fi

block="$(mktemp)"
plain="$(mktemp --suffix=.sqlite)"
out="$(mktemp "$(dirname "$writeup")/.update-benchmark-writeup.XXXXXX")"
trap 'rm -f "$block" "$out" "$plain"' EXIT
if [[ "$db" == *.xz ]]; then
    xz -dc "$db" > "$plain"
    db_read="$plain"
else
    db_read="$db"
fi
"${trainlab[@]}" benchmark "$experiment" --db "$db_read" --format markdown > "$block"
{
    head -n "$first_begin" "$writeup"
    cat "$block"
    tail -n "+$first_end" "$writeup"
} > "$out"
chmod --reference="$writeup" "$out" 2>/dev/null || true
mv "$out" "$writeup"
echo "$writeup: benchmark block rewritten from $db ($experiment)"
