#!/usr/bin/env bash
# tests/install/run.sh BUILD_DIR -- the Debian package of `make deb` (in BUILD_DIR, a build
# configured with PREFIX=/usr), installed and removed as an administrator would (make
# test-install, part of make test):
#   1. the package and `make install DESTDIR=...` hold the same files: the program, the manual
#      page, the bash completion, tokendoctor.service, /etc/default/tokendoctor and the docs;
#   2. as root: dpkg -i on this machine. The postinst creates the user and the database, writes
#      the first admin API key to a root-only file and prints only that file's name. The
#      installed program answers --version and a diagnose against the installed database; the
#      manual renders; systemd-analyze verify accepts the unit (where systemd-analyze exists);
#      the service starts as its user with the unit's environment and takes the admin key;
#   3. dpkg --purge leaves no file behind (the tokendoctor system user stays, as in Debian).
# Not root: step 1 only, and one line says so. It refuses to run when tokendoctor is already
# installed here (it would remove it).
set -uo pipefail
BUILD=${1:?usage: tests/install/run.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
FAILS=0
fail() {
    echo "FAIL: $*" >&2
    FAILS=$((FAILS + 1))
}
step() { echo "-- $*"; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/td-install-XXXXXX") || exit 2
chmod 0755 "$WORK" # the service user reads the test's project file from here
INSTALLED_BY_US=0
cleanup() {
    [ -n "${SERVE_PID:-}" ] && kill "$SERVE_PID" 2>/dev/null
    [ "$INSTALLED_BY_US" = 1 ] && dpkg --purge tokendoctor >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT

shopt -s nullglob
debs=("$BUILD"/tokendoctor_*.deb)
[ ${#debs[@]} -eq 1 ] || {
    echo "FAIL: expected one tokendoctor_*.deb in $BUILD (make deb), found ${#debs[@]}" >&2
    exit 1
}
DEB=${debs[0]}
echo "package: $DEB"

# The files an install must hold, relative to / (PREFIX=/usr).
EXPECTED=(
    usr/bin/tokendoctor
    usr/share/man/man1/tokendoctor.1.gz
    usr/share/bash-completion/completions/tokendoctor
    lib/systemd/system/tokendoctor.service
    etc/default/tokendoctor
    usr/share/doc/tokendoctor/README.md
    usr/share/doc/tokendoctor/CHANGELOG.md
    usr/share/doc/tokendoctor/LICENSE
    usr/share/doc/tokendoctor/docs/api.md
    usr/share/doc/tokendoctor/docs/openapi.yaml
)

# ---- 1. what the package and make install hold ------------------------------------------------
step "contents of the package and of make install DESTDIR=..."
dpkg-deb -c "$DEB" | awk '{print $NF}' | sed 's|^\./||; s|/$||' | sort >"$WORK/deb.list"
DESTDIR="$WORK/destdir" cmake --install "$BUILD" >/dev/null || fail "cmake --install with DESTDIR"
(cd "$WORK/destdir" && find . -mindepth 1 | sed 's|^\./||' | sort) >"$WORK/destdir.list"
for f in "${EXPECTED[@]}"; do
    grep -q -x -F "$f" "$WORK/deb.list" || fail "the package lacks /$f"
    [ -f "$WORK/destdir/$f" ] || fail "make install DESTDIR=... lacks /$f"
done
# Directories the package owns are listed by dpkg-deb and found by find alike.
diff "$WORK/deb.list" "$WORK/destdir.list" >"$WORK/list.diff" ||
    fail "the package and make install differ: $(head -5 "$WORK/list.diff")"
[ -x "$WORK/destdir/usr/bin/tokendoctor" ] || fail "the installed program is not executable"
dpkg-deb -I "$DEB" >"$WORK/control.txt" || fail "dpkg-deb -I"
for s in postinst prerm postrm conffiles; do
    grep -q -e " $s\$" -e " $s " "$WORK/control.txt" || fail "the package has no $s"
done
[ "$(dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles)" = /etc/default/tokendoctor ] ||
    fail "conffiles is not /etc/default/tokendoctor"
grep -q -e '^ Depends:.*libsqlite3' "$WORK/control.txt" || fail "Depends lacks the libraries"
unit="$WORK/destdir/lib/systemd/system/tokendoctor.service"
for line in 'User=tokendoctor' 'StateDirectory=tokendoctor' 'Restart=on-failure' \
    'ProtectSystem=strict' 'NoNewPrivileges=yes' 'PrivateTmp=yes' 'ProtectHome=yes' \
    'EnvironmentFile=-/etc/default/tokendoctor' 'ExecStart=/usr/bin/tokendoctor serve'; do
    grep -q -x -F "$line" "$unit" || fail "tokendoctor.service lacks $line"
done
if grep -v '^#' "$WORK/destdir/etc/default/tokendoctor" | grep -q .; then
    fail "/etc/default/tokendoctor sets something (the example must be all comments)"
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install test: not root, so the package was checked but not installed (dpkg -i needs root)"
    [ "$FAILS" -eq 0 ] || exit 1
    exit 0
fi

# ---- 2. dpkg -i -------------------------------------------------------------------------------
if dpkg-query -W -f='${Status}' tokendoctor 2>/dev/null | grep -q installed; then
    echo "FAIL: tokendoctor is already installed here; this test installs and purges it (dpkg --purge tokendoctor first)" >&2
    exit 1
fi
for d in /var/lib/tokendoctor /etc/tokendoctor /var/log/tokendoctor /etc/default/tokendoctor; do
    [ -e "$d" ] && {
        echo "FAIL: $d exists before the install: left by an earlier one? (remove it)" >&2
        exit 1
    }
done
# What exists before, to compare with what is left after the purge.
snapshot() {
    find /etc /lib/systemd /usr /var/lib /var/log /opt -xdev 2>/dev/null |
        grep -v -e '^/var/lib/dpkg' -e '^/var/log/dpkg\.log' -e '^/var/log/apt' \
            -e '^/etc/\(passwd\|group\|shadow\|gshadow\|subuid\|subgid\)-\?$' \
            -e '^/var/lib/systemd/\(timers\|catalog\|coredump\)' -e '^/var/log/journal' | sort
}
snapshot >"$WORK/before.list"

step "dpkg -i"
INSTALLED_BY_US=1
dpkg -i "$DEB" >"$WORK/dpkg-i.out" 2>&1 || fail "dpkg -i: $(tail -3 "$WORK/dpkg-i.out")"
KEYFILE=/etc/tokendoctor/admin-api-key
grep -q 'tdk_' "$WORK/dpkg-i.out" && fail "dpkg -i printed an API key"
grep -q -F "$KEYFILE" "$WORK/dpkg-i.out" || fail "dpkg -i does not name $KEYFILE: $(cat "$WORK/dpkg-i.out")"
[ "$(stat -c '%a %U' "$KEYFILE" 2>/dev/null)" = "600 root" ] || fail "$KEYFILE is not 0600 root"
KEY=$(cat "$KEYFILE" 2>/dev/null)
printf %s "$KEY" | grep -q -x 'tdk_[0-9a-f]\{64\}' || fail "$KEYFILE does not hold an API key"
getent passwd tokendoctor >/dev/null || fail "no tokendoctor user"
[ "$(stat -c '%a %U' /var/lib/tokendoctor 2>/dev/null)" = "700 tokendoctor" ] ||
    fail "/var/lib/tokendoctor is not 0700 tokendoctor"
for f in tokendoctor.db tokendoctor.key; do
    [ "$(stat -c %U "/var/lib/tokendoctor/$f" 2>/dev/null)" = tokendoctor ] ||
        fail "/var/lib/tokendoctor/$f is not the service user's"
done

step "the installed program"
TD=/usr/bin/tokendoctor
v=$("$TD" --version) || fail "tokendoctor --version"
[ "$v" = "$("$BUILD/cli/tokendoctor" --version)" ] || fail "installed --version: '$v'"
echo "$v"
APP=970CA35de60c44645bbae8a215061b33
CERT=5CFd2fd1755d40ecb72977518be15d3b
printf '{"app_id": "%s", "name": "install test", "primary": {"certificate": "%s", "enabled": true}}' \
    "$APP" "$CERT" >"$WORK/project.json"
printf %s "$CERT" >"$WORK/cert.txt"
runuser -u tokendoctor -- "$TD" project put --db /var/lib/tokendoctor/tokendoctor.db \
    --file "$WORK/project.json" >/dev/null || fail "project put as the service user"
token=$("$TD" mint --version 007 --app-id "$APP" --certificate-file "$WORK/cert.txt" \
    --channel room-1 --uid 42) || fail "mint"
out=$(TOKENDOCTOR_DB=/var/lib/tokendoctor/tokendoctor.db "$TD" diagnose --app-id "$APP" \
    --channel room-2 --uid 42 "$token")
rc=$?
[ "$rc" = 1 ] && printf %s "$out" | grep -q "110" ||
    fail "diagnose with the installed database: exit $rc: $out"
printf '%s\n' "$out" | head -1

step "the manual page and the completion"
LC_ALL=C man -l /usr/share/man/man1/tokendoctor.1.gz >"$WORK/man.txt" 2>&1 || fail "man -l"
grep -q -e '--no-db' "$WORK/man.txt" || fail "man -l: the page lacks diagnose --no-db"
[ "$(man -w tokendoctor 2>/dev/null)" = /usr/share/man/man1/tokendoctor.1.gz ] ||
    fail "man -w tokendoctor: '$(man -w tokendoctor 2>&1)'"
bash -c '. /usr/share/bash-completion/completions/tokendoctor && complete -p tokendoctor' \
    >/dev/null || fail "the bash completion does not load"

step "tokendoctor.service"
if command -v systemd-analyze >/dev/null 2>&1; then
    systemd-analyze verify /lib/systemd/system/tokendoctor.service >"$WORK/verify.out" 2>&1 ||
        fail "systemd-analyze verify: $(cat "$WORK/verify.out")"
else
    echo "systemd-analyze is not installed: the unit was not verified"
fi
if command -v systemctl >/dev/null 2>&1; then
    [ "$(systemctl is-enabled tokendoctor.service 2>/dev/null)" = enabled ] ||
        fail "tokendoctor.service is not enabled after the install"
fi
if [ -d /run/systemd/system ]; then
    # systemd runs here: the postinst started the unit, hardening and all. Still running after a
    # second, never restarted.
    sleep 1
    systemctl is-active --quiet tokendoctor.service ||
        fail "tokendoctor.service is not active: $(systemctl status tokendoctor.service --no-pager 2>&1 | tail -5)"
    [ "$(systemctl show -p NRestarts --value tokendoctor.service)" = 0 ] ||
        fail "tokendoctor.service restarted: $(journalctl -u tokendoctor.service --no-pager 2>&1 | tail -5)"
fi
# The service as the unit runs it: its user, its working directory, its environment.
mapfile -t envs < <(sed -n 's/^Environment=//p' /lib/systemd/system/tokendoctor.service)
rm -f /var/lib/tokendoctor/port
# setpriv execs (runuser would stay in between and turn SIGTERM into its own exit 143).
(cd /var/lib/tokendoctor && exec setpriv --reuid=tokendoctor --regid=tokendoctor --init-groups \
    env "${envs[@]}" "$TD" serve \
    --listen 127.0.0.1:0 --port-file /var/lib/tokendoctor/port --access-log off) \
    >"$WORK/serve.out" 2>&1 &
SERVE_PID=$!
for _ in $(seq 50); do [ -s /var/lib/tokendoctor/port ] && break; sleep 0.1; done
port=$(cat /var/lib/tokendoctor/port 2>/dev/null)
# get PATH [KEY]: the HTTP status of GET PATH.
get() {
    local auth=''
    [ -n "${2:-}" ] && auth="Authorization: Bearer $2"$'\r\n'
    exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
    printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n%s\r\n' "$1" "$auth" >&3
    head -1 <&3 | cut -d' ' -f2
    exec 3<&-
}
if [ -n "$port" ]; then
    [ "$(get /healthz)" = 200 ] || fail "the service: /healthz"
    [ "$(get /v1/projects "$KEY")" = 200 ] || fail "the service does not take the admin key"
    [ "$(get /v1/projects)" = 401 ] || fail "the service answers /v1/projects without a key"
else
    fail "the service did not start: $(cat "$WORK/serve.out")"
fi
kill -TERM "$SERVE_PID" 2>/dev/null
wait "$SERVE_PID"
rc=$?
SERVE_PID=
[ "$rc" = 0 ] || fail "the service exited $rc on SIGTERM"
grep -q 'tdk_' "$WORK/serve.out" && fail "the service printed an API key"
rm -f /var/lib/tokendoctor/port

# ---- 3. dpkg --purge --------------------------------------------------------------------------
step "dpkg --purge"
dpkg --purge tokendoctor >"$WORK/purge.out" 2>&1 || fail "dpkg --purge: $(tail -3 "$WORK/purge.out")"
INSTALLED_BY_US=0
snapshot >"$WORK/after.list"
comm -13 "$WORK/before.list" "$WORK/after.list" >"$WORK/left.list"
[ -s "$WORK/left.list" ] && fail "left behind after the purge: $(head -10 "$WORK/left.list" | tr '\n' ' ')"
for f in "${EXPECTED[@]}"; do
    [ -e "/$f" ] && fail "/$f is still there after the purge"
done

if [ "$FAILS" -ne 0 ]; then
    echo "$FAILS failure(s)" >&2
    exit 1
fi
echo "ok: the package installs, works and purges without a trace"
