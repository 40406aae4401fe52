#!/usr/bin/env bash
# tests/pg/pg.sh -- the one place the tests start a PostgreSQL server of their own.
#
#   tests/pg/pg.sh start DIR     install PostgreSQL when it is absent (apt-get, as root), make a
#                                cluster in DIR (which must be empty or absent), start it listening
#                                on a Unix socket in DIR only (no TCP), and print its URL:
#                                  postgresql:///postgres?host=DIR&user=postgres
#                                (also written to DIR/url). A failed start leaves nothing running.
#   tests/pg/pg.sh restart DIR   restart the server (pg_ctl restart -m fast), same socket and URL
#   tests/pg/pg.sh halt DIR      stop the server and keep DIR (an outage: the fleet test)
#   tests/pg/pg.sh resume DIR    start a halted server again
#   tests/pg/pg.sh stop DIR      stop it (pg_ctl stop -m fast) and remove DIR
#   tests/pg/pg.sh url DIR       print the URL of a started server
#   tests/pg/pg.sh db DIR NAME   (re)create the empty database NAME there and print its URL, so that
#                                each suite starts from an empty database of its own
#
# Run as root (the tests are), the cluster belongs to the user `postgres` (initdb refuses root):
# DIR is owned by it, and its parents must be searchable by it (o+x; /tmp is). Run as another
# user, the cluster is that user's. Authentication is `trust` on the socket, which only the
# owner of DIR can reach anyway (the directory is 0711 and the socket's name is not secret, but
# no TCP port is opened).
#
# Durability is off (fsync, synchronous_commit, full_page_writes) for the suites' speed; with
# TD_PG_DURABLE=1 the defaults are kept, as a measurement against a production-like server wants.
# The server's log is DIR/log. DIR/.tokendoctor-pg marks a directory this script made, and stop
# removes only such a directory.
set -euo pipefail

me=pg.sh
die() {
  echo "$me: $*" >&2
  exit 1
}

# The directory of initdb, pg_ctl and postgres: Debian keeps them under
# /usr/lib/postgresql/VERSION/bin (not on PATH); the newest version wins.
pg_bindir() {
  local d best=
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && best=$d
  done
  if [ -z "$best" ] && command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    best=$(dirname "$(command -v pg_ctl)")
  fi
  printf '%s' "$best"
}

# Installs Debian's postgresql when no server binaries are found. The package's own cluster is
# not started meanwhile (policy-rc.d: 101 refuses service starts during the installation), so
# installing leaves no system server running that nobody asked for.
pg_install() {
  [ -n "$(pg_bindir)" ] && return 0
  [ "$(id -u)" -eq 0 ] || die "PostgreSQL is not installed; run as root, or: apt-get install postgresql"
  echo "$me: installing postgresql (apt-get)" >&2
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    made_policy=1
  fi
  local rc=0
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql >/dev/null; } || rc=$?
  [ "$made_policy" -eq 1 ] && rm -f "$policy"
  [ "$rc" -eq 0 ] || die "apt-get install postgresql failed ($rc)"
  [ -n "$(pg_bindir)" ] || die "postgresql installed, but no initdb under /usr/lib/postgresql/*/bin"
}

# Runs a command as the cluster's owner, from DIR (a cwd it cannot read, /root, makes initdb warn).
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd "$dir" && runuser -u postgres -- "$@")
  else
    (cd "$dir" && "$@")
  fi
}

owner_name() {
  if [ "$(id -u)" -eq 0 ]; then echo postgres; else id -un; fi
}

url_of() {
  printf 'postgresql:///%s?host=%s&user=%s' "${2:-postgres}" "$1" "$(owner_name)"
}

# DIR as an absolute path (it need not exist yet).
absdir() {
  local d=$1 parent
  parent=$(cd "$(dirname "$d")" && pwd) || die "$(dirname "$d"): no such directory"
  printf '%s/%s' "$parent" "$(basename "$d")"
}

cmd_start() {
  pg_install
  local bin
  bin=$(pg_bindir)
  if [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
    die "$dir is not empty"
  fi
  # A Unix socket's path is at most 107 bytes: DIR/.s.PGSQL.5432 must fit.
  [ "${#dir}" -le 90 ] || die "$dir: too long for a Unix socket's directory (at most 90 bytes)"
  mkdir -p "$dir"
  : >"$dir/.tokendoctor-pg"
  started=0
  trap 'start_failed' EXIT
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "no user postgres (the postgresql package creates it)"
    chown postgres: "$dir"
    chmod 0711 "$dir"
    # Every parent must be searchable by postgres.
    local p=$dir
    while [ "$p" != / ]; do
      p=$(dirname "$p")
      runuser -u postgres -- test -x "$p" ||
        die "$p is not searchable by the user postgres (chmod o+x $p, or use a DIR under /tmp)"
    done
  fi
  as_owner "$bin/initdb" -D "$dir/data" -U "$(owner_name)" --auth=trust -E UTF8 --locale=C \
    --no-sync >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    die "initdb failed"
  }
  {
    echo "# tests/pg/pg.sh: a Unix socket in $dir only"
    echo "listen_addresses = ''"
    echo "unix_socket_directories = '$dir'"
    echo "unix_socket_permissions = 0777"
    echo "max_connections = 200"
    if [ "${TD_PG_DURABLE:-0}" != 1 ]; then
      echo "fsync = off"
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
    fi
  } >>"$dir/data/postgresql.conf"
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 start >/dev/null || {
    cat "$dir/log" >&2 2>/dev/null || true
    die "the server did not start (log above)"
  }
  started=1
  url_of "$dir" >"$dir/url"
  chmod 0644 "$dir/url"
  trap - EXIT
  echo "$me: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on $dir (log: $dir/log)" >&2
  cat "$dir/url"
  echo
}

# The EXIT trap of a start that did not finish: nothing may stay running or on disk.
start_failed() {
  local rc=$?
  [ "$rc" -eq 0 ] && return
  if [ "${started:-0}" = 1 ] || [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$(pg_bindir)/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  exit "$rc"
}

cmd_restart() {
  [ -f "$dir/.tokendoctor-pg" ] || die "$dir: not a server started by pg.sh"
  as_owner "$(pg_bindir)/pg_ctl" -D "$dir/data" -l "$dir/log" -m fast -w -t 60 restart >/dev/null ||
    die "restart failed (see $dir/log)"
}

cmd_halt() {
  [ -f "$dir/.tokendoctor-pg" ] || die "$dir: not a server started by pg.sh"
  as_owner "$(pg_bindir)/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null ||
    die "pg_ctl stop failed (see $dir/log)"
}

cmd_resume() {
  [ -f "$dir/.tokendoctor-pg" ] || die "$dir: not a server started by pg.sh"
  as_owner "$(pg_bindir)/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 start >/dev/null ||
    die "pg_ctl start failed (see $dir/log)"
}

cmd_stop() {
  [ -e "$dir" ] || return 0
  [ -f "$dir/.tokendoctor-pg" ] || die "$dir: not a server started by pg.sh (not removed)"
  local rc=0
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$(pg_bindir)/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null || rc=$?
    if [ "$rc" -ne 0 ]; then
      as_owner "$(pg_bindir)/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
  fi
  rm -rf "$dir"
  [ "$rc" -eq 0 ] || die "pg_ctl stop -m fast failed ($rc); stopped with -m immediate"
}

cmd_db() {
  [ -f "$dir/url" ] || die "$dir: no server started there"
  [[ $name =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || die "$name: a database name is [a-z_][a-z0-9_]*"
  local psql
  psql=$(pg_bindir)/psql
  [ -x "$psql" ] || psql=psql
  PGOPTIONS="-c client_min_messages=warning" "$psql" "$(cat "$dir/url")" -qAtX -v ON_ERROR_STOP=1 \
    -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" -c "CREATE DATABASE $name" >/dev/null ||
    die "could not create the database $name"
  url_of "$dir" "$name"
  echo
}

usage="usage: tests/pg/pg.sh start|restart|halt|resume|stop|url DIR, or db DIR NAME"
case "${1:-}" in
db) [ $# -eq 3 ] || die "$usage" ;;
*) [ $# -eq 2 ] || die "$usage" ;;
esac
dir=$(absdir "$2")
name=${3:-}
case "$1" in
db) cmd_db ;;
start) cmd_start ;;
restart) cmd_restart ;;
halt) cmd_halt ;;
resume) cmd_resume ;;
stop) cmd_stop ;;
url)
  [ -f "$dir/url" ] || die "$dir: no server started there"
  cat "$dir/url"
  echo
  ;;
*) die "$usage" ;;
esac
