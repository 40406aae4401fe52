#!/bin/sh
# check_docs.sh TOKENDOCTOR MANPAGE COMPLETION VERSION SOURCE_DIR
#
# What is installed beside the program says what the program does (ctest install_docs):
#   - `tokendoctor --version`, `-V` and `version` print "tokendoctor VERSION (commit C)", C a
#     commit of SOURCE_DIR's repository (or "unknown" when SOURCE_DIR is not a git checkout);
#   - the manual page renders (man -l) and shows every command, and every option of each
#     command's --help and of each command's option table;
#   - the bash completion completes every command, every option of each command's --help (and
#     only options its --help documents), the actions of project and apikey, and the values of
#     a few options.
set -u
TD=${1:?usage: check_docs.sh TOKENDOCTOR MANPAGE COMPLETION VERSION SOURCE_DIR}
MAN=${2:?}
COMPLETION=$(cd "$(dirname "${3:?}")" && pwd)/$(basename "$3")
VERSION=${4:?}
SRC=${5:?}
FAILS=0
fail() {
    echo "FAIL: $*" >&2
    FAILS=$((FAILS + 1))
}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/td-docs-XXXXXX") || exit 2
trap 'rm -rf "$WORK"' EXIT

# ---- version ----------------------------------------------------------------------------------
v1=$("$TD" --version) || fail "--version: exit $?"
v2=$("$TD" -V) || fail "-V: exit $?"
v3=$("$TD" version) || fail "version: exit $?"
[ "$v1" = "$v2" ] && [ "$v1" = "$v3" ] || fail "--version, -V and version differ: '$v1' '$v2' '$v3'"
commit=$(printf %s "$v1" | sed -n "s/^tokendoctor $VERSION (commit \([0-9a-z]*\))\$/\1/p")
if [ -z "$commit" ]; then
    fail "--version: '$v1' is not 'tokendoctor $VERSION (commit C)'"
elif [ "$(git -C "$SRC" rev-parse --show-toplevel 2>/dev/null)" = "$(cd "$SRC" && pwd -P)" ]; then
    # Built in a checkout: the commit is one of its commits (HEAD when nobody committed since).
    git -C "$SRC" cat-file -e "$commit^{commit}" 2>/dev/null ||
        fail "--version names commit '$commit', which $SRC does not have"
else
    [ "$commit" = unknown ] || fail "--version outside git: commit '$commit', expected unknown"
fi
"$TD" version extra >/dev/null 2>&1 && fail "version with an argument: exit 0"

# ---- what each command documents and accepts --------------------------------------------------
commands=$("$TD" --help | sed -n '/^commands:/,/^$/{/^  [a-z]/{s/^  \([a-z][a-z-]*\).*/\1/p}}')
[ -n "$commands" ] || fail "no commands in --help"
# options CMD: the long options CMD's --help documents, one a line: those of its usage (the
# first paragraph) and of its option lines ("  --name ..."), not those the prose mentions of
# other commands ("serve --auth all") nor tokendoctor's own ("tokendoctor --version"); never
# --help, which every command has and the manual describes once.
options() {
    "$TD" "$1" --help | sed -n -e '1,/^$/p' -e '/^ *--/p' | sed 's/tokendoctor --[a-z-]*//g' |
        grep -o -e '--[a-z][a-z0-9-]*' | grep -v -x -e --help | sort -u
}

# complete WORD...: the completions bash offers for the last WORD (the words after tokendoctor).
complete_words() {
    bash -c '
        . "$0" || exit 2
        COMP_WORDS=(tokendoctor "$@")
        COMP_CWORD=$#
        _tokendoctor
        printf "%s\n" "${COMPREPLY[@]}"
    ' "$COMPLETION" "$@" | sort -u
}

# ---- the manual page --------------------------------------------------------------------------
command -v man >/dev/null 2>&1 || fail "man is not installed (scripts/deps.sh test installs man-db)"
if LC_ALL=C MANWIDTH=120 man --warnings -l "$MAN" >"$WORK/man.txt" 2>"$WORK/man.err"; then
    [ -s "$WORK/man.err" ] && fail "man -l $MAN warns: $(head -3 "$WORK/man.err")"
    grep -q "^NAME" "$WORK/man.txt" || fail "the manual has no NAME section"
    grep -q "$VERSION" "$WORK/man.txt" || fail "the manual does not name version $VERSION"
else
    fail "man -l $MAN: exit status $?"
fi
for c in $commands; do
    grep -q -e "tokendoctor $c" "$WORK/man.txt" || fail "the manual lacks the command $c"
    # The command's section: from its heading to the next command's (or ENVIRONMENT).
    sed -n "/^   tokendoctor $c\$/,/^   tokendoctor [a-z]*\$\|^ENVIRONMENT/p" "$WORK/man.txt" \
        >"$WORK/section.txt"
    [ -s "$WORK/section.txt" ] || fail "the manual has no section for $c"
    for o in $(options "$c") $(complete_words "$c" -- | grep -e '^--' | grep -v -x -e --help); do
        grep -q -e "$o" "$WORK/section.txt" || fail "the manual's section on $c lacks $o"
    done
done

# ---- the bash completion ----------------------------------------------------------------------
command -v bash >/dev/null 2>&1 || fail "bash is not installed"
top=$(complete_words "")
for c in $commands; do
    printf '%s\n' "$top" | grep -q -x -e "$c" || fail "completion lacks the command $c"
done
for o in --help --version -V; do
    printf '%s\n' "$top" | grep -q -x -e "$o" || fail "completion lacks tokendoctor $o"
done
for c in $commands; do
    offered=$(complete_words "$c" --)
    [ -n "$offered" ] || fail "completion offers no option for $c"
    for o in $(options "$c"); do
        printf '%s\n' "$offered" | grep -q -x -e "$o" || fail "completion of $c lacks $o (in its --help)"
    done
    # An option that is accepted (the completion is made from the option tables) but that
    # --help does not document.
    documented=$(options "$c")
    for o in $(printf '%s\n' "$offered" | grep -e '^--'); do
        printf '%s\n' "$documented" | grep -q -x -e "$o" ||
            [ "$o" = --help ] || fail "$c accepts $o, which its --help does not document"
    done
done
# Actions: those the usage shows ("tokendoctor project put ...").
for c in project apikey; do
    want=$("$TD" "$c" --help | sed -n "s/^.*tokendoctor $c \([a-z][a-z]*\).*/\1/p" | sort -u)
    got=$(complete_words "$c" "")
    [ "$want" = "$got" ] || fail "completion of $c actions: '$got', its usage: '$want'"
done
[ "$(complete_words project put --db x "")" != "" ] || true # a file name: anything is fine
# help COMMAND completes the commands.
got=$(complete_words help "" | tr '\n' ' ')
for c in $commands; do
    case " $got " in *" $c "*) ;; *) fail "help does not complete the command $c: '$got'" ;; esac
done
got=$(complete_words diagnose --service "" | tr '\n' ' ')
[ "$got" = "rtc rtm " ] || fail "diagnose --service completes '$got'"
got=$(complete_words diagnose --service = r | tr '\n' ' ')
[ "$got" = "rtc rtm " ] || fail "diagnose --service=r completes '$got'"
got=$(complete_words mint --version "" | tr '\n' ' ')
[ "$got" = "006 007 " ] || fail "mint --version completes '$got'"
got=$(complete_words apikey create --role "" | tr '\n' ' ')
[ "$got" = "admin reader " ] || fail "apikey --role completes '$got'"
for p in native web android react-native macos; do
    complete_words diagnose --platform "" | grep -q -x -e "$p" ||
        fail "diagnose --platform does not complete $p"
    "$TD" diagnose --help | grep -q -e "$p" || fail "diagnose --help does not list platform $p"
done
mkdir "$WORK/dir" && : >"$WORK/dir/conf.json"
got=$(cd "$WORK/dir" && complete_words diagnose --project c)
[ "$got" = conf.json ] || fail "diagnose --project completes file names: '$got'"
got=$(complete_words diagnose --app-id "")
[ -z "$got" ] || fail "diagnose --app-id completes '$got' (a value of its own)"

if [ "$FAILS" -ne 0 ]; then
    echo "$FAILS failure(s)" >&2
    exit 1
fi
echo "ok: --version, manual page and bash completion agree with every command's --help"
