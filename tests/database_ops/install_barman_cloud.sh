#!/usr/bin/env bash
# Installs barman-cloud (the tools CloudNativePG's barman-cloud plugin runs: barman-cloud-backup,
# -wal-archive, -restore, -wal-restore) and moto's S3 server into /opt/city-test-tools/barman-cloud (root) or .local/barman-cloud, for
# tests/database_ops/test_restore_rehearsal.py. A virtual environment of its own, on the system's
# /usr/bin/python3, because PostgreSQL's archive_command and restore_command run them as the
# `postgres` account, which cannot reach an interpreter under /root (pyenv, uv's own Pythons).
# Versions are pinned here (they are test tools outside the workspace lock). Idempotent.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
# As root (CI): outside the checkout, which may sit in a directory the `postgres` account cannot
# traverse (a mktemp -d is 0700); else the checkout's .local.
if [ "$(id -u)" = 0 ]; then dest=/opt/city-test-tools/barman-cloud; else dest="$root/.local/barman-cloud"; fi
uv="$(command -v uv || echo "python3 -m uv")"

if [ -x "$dest/bin/barman-cloud-backup" ] && [ -x "$dest/bin/moto_server" ]; then
  exit 0
fi
$uv venv -q --allow-existing "$dest" --python /usr/bin/python3
$uv pip install -q --python "$dest/bin/python" "barman[cloud]==3.19.1" "moto[server]==5.2.5"
"$dest/bin/barman-cloud-backup" --version
