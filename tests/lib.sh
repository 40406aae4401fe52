# lib.sh -- the steps the scripted test suites share (sourced, not run): where things are, a work
# directory that is removed unless a failure keeps it, the pinned npm packages, seeds, and the
# "NAME: N passed, M failed" summary line every suite ends with.
#
#   here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
#   source "$here/../lib.sh"
#   td_init interop "${1:-}"       # root, build (absolute), shared; die() says "interop: ..."
#   td_make_work                   # $work, removed at exit unless keep_work=1
#   td_npm_ci "$here"              # npm ci (npm install without a lock file), log in $work
#   td_node_suite interop "${1:-}" INTEROP_SEED core/libtdcore.a tdcore   # all of the above
#
# One place for these so that every suite reports and cleans up the same way.

# NAME BUILD_DIR: sets td_name, root (the repository), build (absolute; default build/release)
# and shared (TD_SHARED_DIR, default the shared directory next to the repository).
td_init() {
    td_name=$1
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    build=${2:-build/release}
    [[ $build = /* ]] || build="$PWD/$build"
    shared=${TD_SHARED_DIR:-$root/../shared}
    td_fixed_seed=20261122
}

# Reports a failure that stops the suite, with the summary line a caller parses.
die() {
    echo "$td_name: $*" >&2
    echo "$td_name: 0 passed, 1 failed"
    exit 1
}

td_need_node() {
    command -v node >/dev/null && command -v npm >/dev/null ||
        die "node and npm are needed (apt-get install nodejs npm)"
}

td_cleanup() {
    [[ $keep_work = 1 ]] || rm -rf "$work"
}

# A fresh $work directory, removed at exit unless keep_work=1 (set it to keep inputs for replay).
td_make_work() {
    work=$(mktemp -d "${TMPDIR:-/tmp}/$td_name.XXXXXX")
    keep_work=0
    trap td_cleanup EXIT
}

# DIR: its npm packages exactly as locked (npm install when there is no lock file yet).
td_npm_ci() {
    local dir=$1
    local cmd=(npm ci)
    [[ -f $dir/package-lock.json ]] || cmd=(npm install)
    if ! (cd "$dir" && "${cmd[@]}" --no-audit --no-fund --loglevel=error >"$work/npm.log" 2>&1); then
        cat "$work/npm.log" >&2
        die "${cmd[*]} failed"
    fi
}

# NAME BUILD_DIR SEED_VAR FILE TARGET: the start every node-driven suite shares (the caller has
# set $here): td_init; fixed_seed, and random_seed from the environment variable SEED_VAR (random
# when unset); FILE (relative to $build) must exist, else "build it first (--target TARGET)";
# node, a $work directory, and the npm packages of $here exactly as locked.
td_node_suite() {
    td_init "$1" "$2"
    fixed_seed=$td_fixed_seed
    random_seed=$(td_seed "${!3:-}")
    [[ -f $build/$4 ]] || die "$build/$4 not found: build it first (cmake --build $build --target $5)"
    td_need_node
    td_make_work
    td_npm_ci "$here"
}

# SEED: prints SEED, or a random 32-bit seed when it is empty.
td_seed() {
    if [[ -n ${1:-} ]]; then
        echo "$1"
    else
        od -An -N4 -tu4 /dev/urandom | tr -d ' '
    fi
}

# The N and M of a "what: N passed, M failed" line.
td_passed() { sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$1"; }
td_failed() { sed -E 's/.* ([0-9]+) failed$/\1/' <<<"$1"; }
