# cli_lib.sh -- what the CLI test scripts share; sourced (". cli_lib.sh") with NAME set to the
# script's name and the scripts's arguments unchanged ($1: the tokendoctor to test). It sets TD
# (that program, as an absolute path), DIR (a new mktemp directory, removed at exit, made the
# working directory) and FAILS, unsets the environment that would pick a database, and defines:
#   fail MESSAGE            count a failure
#   expect STATUS CMD...    run CMD (stdout in ./out, stderr in ./err) and check its exit status
#   has FILE TEXT / lacks FILE TEXT (case-insensitive)   check a file's content
set -u
TD=${1:?usage: $NAME PATH/TO/tokendoctor}
[ -x "$TD" ] || { echo "$NAME: $TD is not an executable" >&2; exit 2; }
TD=$(cd "$(dirname "$TD")" && pwd)/$(basename "$TD")
DIR=$(mktemp -d "${TMPDIR:-/tmp}/$NAME-XXXXXX") || exit 2
trap 'rm -rf "$DIR"' EXIT
unset TOKENDOCTOR_DB TOKENDOCTOR_KEY_FILE
cd "$DIR" || exit 2
FAILS=0

fail() {
    echo "FAIL: $*" >&2
    FAILS=$((FAILS + 1))
}

expect() {
    want=$1
    shift
    "$@" >out 2>err
    got=$?
    if [ "$got" != "$want" ]; then
        fail "exit $got, expected $want: $*"
        sed 's/^/    stderr: /' err >&2
    fi
}

has() { grep -q -e "$2" "$1" || fail "$1 lacks '$2'"; }
lacks() { if grep -q -i -e "$2" "$1"; then fail "$1 contains '$2'"; fi; }
