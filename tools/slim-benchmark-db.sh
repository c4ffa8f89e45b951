#!/usr/bin/env bash
# Writes a slim copy of a benchmark's results database, small enough to commit, that
# `trainlab benchmark NAME --format markdown` reads to the same tables as the full one:
# every run, its config, params and summaries (final and best values) stay; of the metric
# histories only what the analysis reads: the final runs' val_*/test_*/evals/time curves (time
# to target) and each run's last train_loss row (steps trained). Tuning and selection runs keep
# no curves (their final values are in summaries), saved training states are dropped.
#
#   tools/slim-benchmark-db.sh FULL.sqlite SLIM.sqlite
#
# Needs the sqlite3 command-line shell.
set -euo pipefail
if [ $# -ne 2 ]; then echo "usage: $0 FULL.sqlite SLIM.sqlite" >&2; exit 2; fi
full=$1 slim=$2
[ -f "$full" ] || { echo "$0: no database at $full" >&2; exit 2; }
[ "$full" != "$slim" ] || { echo "$0: write the slim copy to another file" >&2; exit 2; }
rm -f "$slim" "$slim-wal" "$slim-shm"
# VACUUM INTO copies a consistent snapshot, the WAL's pages included.
sqlite3 "$full" "VACUUM INTO '$slim'"
sqlite3 "$slim" <<'SQL'
PRAGMA journal_mode = DELETE;
DELETE FROM metrics WHERE name NOT IN ('train_loss', 'val_loss', 'evals', 'time')
    AND name NOT LIKE 'test\_%' ESCAPE '\';
DELETE FROM metrics
WHERE run_id NOT IN (SELECT run_id FROM params WHERE key = 'benchmark.role' AND value = 'final')
  AND NOT (name = 'train_loss' AND step = (SELECT MAX(m.step) FROM metrics m WHERE m.run_id = metrics.run_id AND m.name = 'train_loss'));
DELETE FROM metrics
WHERE name = 'train_loss'
  AND step < (SELECT MAX(m.step) FROM metrics m WHERE m.run_id = metrics.run_id AND m.name = 'train_loss');
DELETE FROM run_state;
VACUUM;
SQL
echo "$slim: $(du -k "$slim" | cut -f1) KiB (from $(du -k "$full" | cut -f1) KiB)"
