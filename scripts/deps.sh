#!/usr/bin/env bash
# Installs the Debian packages tokendoctor needs, only those that are missing.
#   scripts/deps.sh build   what `make run` needs: compiler, CMake and the six libraries
#   scripts/deps.sh test    plus what `make test` needs: clang, its libFuzzer runtime and
#                           clang-format (the format check), git, Node.js/npm
#                           (interop tests against the vendor's npm libraries) and Chromium (the
#                           web page's end-to-end test), dpkg-dev and man-db (the Debian
#                           package is built and installed, its manual page rendered),
#                           PostgreSQL and Python 3 (`make test-pg`: the suites on a server of
#                           their own, the fleet test)
#   scripts/deps.sh deb     what `make deb` needs: the build's, and dpkg-dev (dpkg-shlibdeps)
set -euo pipefail
want=(cmake make gcc pkg-config libevent-dev libmbedtls-dev zlib1g-dev libjansson-dev libsqlite3-dev libpq-dev)
case "${1:-build}" in test | deb) want+=(dpkg-dev) ;; esac
if [ "${1:-build}" = test ]; then
  want+=(clang clang-format libclang-rt-14-dev chromium git man-db postgresql python3)
  command -v node >/dev/null 2>&1 || want+=(nodejs)
  command -v npm >/dev/null 2>&1 || want+=(npm)
fi
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "tokendoctor: missing Debian packages: ${missing[*]}" >&2
  echo "tokendoctor: run as root, or install them first: apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "tokendoctor: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Installing postgresql would start the package's own cluster: the tests start servers of their
# own (tests/pg/pg.sh), so service starts are refused meanwhile (policy-rc.d, exit 101).
policy=/usr/sbin/policy-rc.d
made_policy=0
if [[ " ${missing[*]} " = *" postgresql "* ]] && [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 0755 "$policy"
  made_policy=1
fi
rc=0
{ apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } || rc=$?
[ "$made_policy" -eq 1 ] && rm -f "$policy"
exit "$rc"
