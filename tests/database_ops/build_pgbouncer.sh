#!/usr/bin/env bash
# Builds PgBouncer into /opt/city-test-tools/pgbouncer (root) or .local/pgbouncer for tests/database_ops/test_pgbouncer_transaction_mode.py.
#
# Why not `apt-get install pgbouncer`: Debian 12 ships PgBouncer 1.18, which cannot carry
# protocol-level prepared statements in transaction mode (`max_prepared_statements` came in
# 1.21), and production's CloudNativePG image runs 1.25. So this takes the source package of the
# next Debian release from the Debian archive this machine already uses (its URIs are read from
# the apt sources, not named here) and builds it (about a minute). Idempotent: a build that is
# there and new enough is kept. Needs root for the build dependencies (CI runs as root).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
# As root (CI): outside the checkout, because PgBouncer runs as `postgres`, which may not
# traverse the checkout's directory (a mktemp -d is 0700); else the checkout's .local.
if [ "$(id -u)" = 0 ]; then dest=/opt/city-test-tools/pgbouncer; else dest="$root/.local/pgbouncer"; fi
suite="${PGBOUNCER_SOURCE_SUITE:-trixie}"

if [ -x "$dest/bin/pgbouncer" ]; then
  exit 0
fi

uri="$(grep -h -m1 '^URIs:' /etc/apt/sources.list.d/debian.sources 2>/dev/null | awk '{print $2}')"
if [ -z "$uri" ]; then
  uri="$(grep -h -m1 -E '^deb [a-z]+://' /etc/apt/sources.list | awk '{print $2}')"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial"
echo "deb-src $uri $suite main" >"$work/sources.list"
apt_opts=(-o "Dir::Etc::sourcelist=$work/sources.list" -o "Dir::Etc::sourceparts=-"
  -o "Dir::State::Lists=$work/lists" -o "APT::Get::List-Cleanup=0")

apt-get update -qq
apt-get install -y -qq gcc make pkg-config libevent-dev libssl-dev >/dev/null
apt-get update -qq "${apt_opts[@]}"
(cd "$work" && apt-get source --download-only -qq "${apt_opts[@]}" pgbouncer 2>/dev/null)
tar xzf "$work"/pgbouncer_*.orig.tar.gz -C "$work"
cd "$work"/pgbouncer-*/
./configure --prefix="$dest" --without-cares --without-systemd >/dev/null
make -j"$(nproc)" >/dev/null
make install >/dev/null
"$dest/bin/pgbouncer" --version | head -1
