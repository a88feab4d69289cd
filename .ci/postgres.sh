#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests (recipe: ../shared/reference/toolchain.md).
#   eval "$(.ci/postgres.sh start)"   prints `export MECM_TEST_DATABASE_URL=...; export MECM_TEST_PG_DIR=...`
#   .ci/postgres.sh stop "$MECM_TEST_PG_DIR"
set -euo pipefail
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

install_server() {
  [ -x "$PGBIN/initdb" ] && return
  echo "PostgreSQL 15 server binaries missing; installing postgresql-15" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >&2
}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

case "${1:-}" in
  start)
    install_server
    if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then useradd -r -M postgres; fi
    dir=$(mktemp -d /tmp/mecm-pg.XXXXXX)
    chmod 755 "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    port=$(free_port)
    as_postgres "$PGBIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    as_postgres "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >&2 || { cat "$dir/server.log" >&2; exit 1; }
    echo "export MECM_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$port/postgres; export MECM_TEST_PG_DIR=$dir"
    ;;
  stop)
    dir=${2:?usage: postgres.sh stop DIR}
    as_postgres "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start | stop DIR" >&2
    exit 2
    ;;
esac
