#!/usr/bin/env bash
# Runs a command next to a throwaway PostgreSQL server, for the relay's PostgreSQL tests:
#   scripts/with-postgres.sh cargo test -p countersign-relay
# The cluster is created (initdb) in a fresh temporary dir, listens on 127.0.0.1 at a free port
# and on a socket in that dir, and is stopped and deleted afterwards. The command sees
# COUNTERSIGN_TEST_POSTGRES_URL=postgres://countersign:PASSWORD@127.0.0.1:PORT/postgres, a
# superuser that may CREATE DATABASE. The script exits with the command's exit code.
# Needs the Debian package `postgresql` (any version). initdb refuses to run as root, so as root
# the server runs as the `postgres` system user (which that package creates).
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 COMMAND [ARG...]" >&2
  exit 2
fi

bindir=$(pg_config --bindir 2>/dev/null || true)
if [ ! -x "$bindir/initdb" ]; then
  # pg_config may come from libpq-dev without a server next to it; take the newest server.
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ] || [ ! -x "$bindir/pg_ctl" ]; then
  echo "with-postgres: no PostgreSQL server found (pg_config --bindir, /usr/lib/postgresql/*/bin); install the Debian package postgresql" >&2
  exit 1
fi

as_server=()
if [ "$(id -u)" -eq 0 ]; then
  if ! id postgres >/dev/null 2>&1; then
    echo "with-postgres: running as root needs the postgres system user (Debian package postgresql)" >&2
    exit 1
  fi
  as_server=(runuser -u postgres --)
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/countersign-pg.XXXXXX")
# Server programs run from the cluster's dir: the postgres user may not be allowed into ours.
server() { (cd "$dir" && "${as_server[@]}" "$@"); }
started=
cleanup() {
  if [ -n "$started" ]; then
    server "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 ||
      server "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ ${#as_server[@]} -gt 0 ]; then
  chown postgres: "$dir"
  if ! server test -w "$dir"; then
    echo "with-postgres: the postgres user cannot write to $dir (set TMPDIR to a dir it can reach)" >&2
    exit 1
  fi
fi

password=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
printf '%s\n' "$password" >"$dir/pwfile"
[ ${#as_server[@]} -gt 0 ] && chown postgres: "$dir/pwfile"
# Password (SCRAM) over TCP; the socket lives in this private dir, reachable only by its owner.
# --no-sync only skips initdb's own final flush (the cluster is thrown away); the server fsyncs.
server "$bindir/initdb" -D "$dir/data" -U countersign --pwfile="$dir/pwfile" \
  --auth-host=scram-sha-256 --auth-local=trust -E UTF8 --locale=C --no-instructions --no-sync \
  >"$dir/initdb.log" 2>&1 || {
  cat "$dir/initdb.log" >&2
  exit 1
}
rm -f "$dir/pwfile"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A port found free can be taken before the server binds it: try a few.
for attempt in 1 2 3 4 5; do
  port=$(free_port)
  if server "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=300" \
    >/dev/null; then
    started=1
    break
  fi
  if [ "$attempt" -eq 5 ]; then
    echo "with-postgres: the server did not start; its log:" >&2
    cat "$dir/server.log" >&2
    exit 1
  fi
done

export COUNTERSIGN_TEST_POSTGRES_URL="postgres://countersign:$password@127.0.0.1:$port/postgres"
echo "with-postgres: PostgreSQL $("$bindir/pg_ctl" --version | sed 's/^pg_ctl (PostgreSQL) //') on 127.0.0.1:$port (data in $dir)" >&2

set +e
"$@"
status=$?
set -e
exit "$status"
