#!/bin/sh
# test_cli_store.sh -- `tokendoctor project` and `tokendoctor apikey` end to end: exit statuses,
# human and --json output, and what ends up on disk. Works in a mktemp directory only (never
# the default database path). Usage: test_cli_store.sh PATH/TO/tokendoctor
NAME=test_cli_store.sh
. "$(dirname "$0")/cli_lib.sh"
DB="$DIR/data/td.db"

APP=6282c79000df1c033ce3999c60bd78e7
C1=90633ac91c7b87d1a0d0f2b86a07c2af
C2=0f1e2d3c4b5a69788796a5b4c3d2e1f0
C3=aaaabbbbccccddddeeeeffff00001111
R1=1234567890abcdef1234567890abcdef

cat >p1.json <<EOF
{"app_id": "$APP", "name": "demo",
 "primary": {"certificate": "$C1", "enabled": true},
 "secondary": {"certificate": "$C2", "enabled": false},
 "no_certificate": false, "cohost_auth": true}
EOF
cat >p2.json <<EOF
{"app_id": "$APP", "name": "demo",
 "primary": {"certificate": "$C3", "enabled": true}, "secondary": null,
 "retired_certificates": ["$R1"]}
EOF

# --help names the default database and key file and their environment variables.
expect 0 "$TD" project --help
has out "TOKENDOCTOR_DB"
has out "./data/tokendoctor.db"
has out "TOKENDOCTOR_KEY_FILE"
expect 0 "$TD" apikey --help
has out "TOKENDOCTOR_DB"

# put (file), put (stdin), show, list, history.
expect 0 "$TD" project put --file p1.json --db "$DB"
has out "created"
has out "$APP"
FP1=$(printf %s "$C1" | sha256sum | cut -c1-8)
FP2=$(printf %s "$C2" | sha256sum | cut -c1-8)
has out "$FP1"
lacks out "$C1"
[ -f "$DIR/data/tokendoctor.key" ] || fail "key file not created beside the database"
case $(stat -c %a "$DIR/data/tokendoctor.key") in 600) ;; *) fail "key file mode is not 0600" ;; esac

expect 0 "$TD" project put - --db "$DB" --json <p2.json
has out '"fingerprint"'
has out "$FP1" # retired
has out "$FP2" # retired
lacks out "$C3"
lacks out "$R1"

expect 0 "$TD" project show "$APP" --db "$DB" --json
has out '"retired_certificates"'
has out '"created_at"'
for c in $C1 $C2 $C3 $R1; do lacks out "$c"; done

expect 0 "$TD" project list --db "$DB"
has out "$APP"
expect 0 "$TD" project list --db "$DB" --json
has out "\"app_id\": \"$APP\""

expect 0 "$TD" project history "$APP" --db "$DB"
has out "create"
has out "replace"
has out "primary.fingerprint: $FP1 -> "
# The change log names who made the change: the OS user, on the CLI.
ME=$(id -un 2>/dev/null) || ME="uid $(id -u)"
has out " by $ME (cli)"
expect 0 "$TD" project history "$APP" --db "$DB" --json
has out "\"actor\": \"$ME (cli)\""
has out '"changes"'

# Validation errors name the field (exit 64) and never quote a certificate.
printf '{"app_id": "%s", "primary": {"certificate": "xyz", "enabled": true}}' "$APP" >bad1.json
expect 64 "$TD" project put --file bad1.json --db "$DB"
has err "primary.certificate"
printf '{"app_id": "%s", "primary": {"certificate": %s}}' "$APP" "$C1" >bad2.json
expect 64 "$TD" project put --file bad2.json --db "$DB"
has err "line 1"
lacks err "$C1"
lacks err "90633ac9"
expect 64 "$TD" project put --file missing.json --db "$DB"
has err "No such file or directory"

# Fields are strict: a misspelt one would silently keep its default ("primay": no certificate,
# every token "not expected"; "enable": false leaves the certificate enabled). Exit 64 naming
# the field and the closest known name; nothing is stored.
"$TD" project show "$APP" --db "$DB" --json >before.json
printf '{"app_id": "%s", "primay": {"certificate": "%s", "enabled": true}}' "$APP" "$C1" >typo1.json
expect 64 "$TD" project put --file typo1.json --db "$DB"
has err "primay: unknown field (did you mean primary?)"
printf '{"app_id": "%s", "primary": {"certificate": "%s", "enable": false}}' "$APP" "$C1" >typo2.json
expect 64 "$TD" project put typo2.json --db "$DB"
has err "primary.enable: unknown field (did you mean enabled?)"
lacks err "$C1"
expect 64 "$TD" project put --json --file typo2.json --db "$DB"
has out '"code": "bad_request"'
has out 'primary.enable: unknown field'
printf '[{"app_id": "%s", "cohost": true}]' "$APP" >typo3.json
expect 64 "$TD" project put --file typo3.json --db "$DB"
has err "configuration \[0\]: cohost: unknown field"
printf '{"app_id": "%s", "no_certificate": "false"}' "$APP" >type1.json
expect 64 "$TD" project put --file type1.json --db "$DB"
has err "no_certificate: must be true or false"
expect 0 "$TD" project show "$APP" --db "$DB" --json
cmp -s out before.json || fail "a refused configuration changed the stored one"

# --json: stdout holds exactly one JSON document, the error object on failure, whatever fails.
NOAPP=ffffffffffffffffffffffffffffffff
expect 1 "$TD" project show --json "$NOAPP" --db "$DB"
has out '"error"'
has out '"code": "not_found"'
expect 64 "$TD" project show --json not-an-app-id --db "$DB"
has out '"code": "usage"'
expect 64 "$TD" project frobnicate --json --db "$DB"
has out '"code": "usage"'
expect 1 "$TD" project list --json --db "$DIR/none.db"
has out '"code": "not_found"'
expect 64 "$TD" apikey create --role root --json --db "$DB"
has out '"code": "usage"'
expect 1 "$TD" apikey revoke nosuchkey --json --db "$DB"
has out '"code": "not_found"'
[ "$(head -c 1 out)" = "{" ] && [ "$(tail -n 1 out)" = "}" ] ||
    fail "apikey revoke --json: stdout is not one JSON object"

# help COMMAND is COMMAND --help.
"$TD" project --help >want.txt
expect 0 "$TD" help project
cmp -s out want.txt || fail "help project differs from project --help"
"$TD" diagnose --help >want.txt
expect 0 "$TD" help diagnose
cmp -s out want.txt || fail "help diagnose differs from diagnose --help"
expect 0 "$TD" help
has out "help <command>"
expect 64 "$TD" help frobnicate
has err "unknown command 'frobnicate'"
expect 64 "$TD" project show not-an-app-id --db "$DB"
expect 64 "$TD" project frobnicate --db "$DB"
expect 64 "$TD" project show --db
expect 64 "$TD" project list --db ""
has err "needs a value"
expect 64 "$TD" project list --db "$DB" --db "$DB"
has err "given twice"
expect 64 "$TD" project show "$APP" --file p1.json --db "$DB"
has err "is for put"
expect 64 "$TD" project list extra --db "$DB"
has err "takes no argument"
expect 64 "$TD" project show "$APP" "$APP" --db "$DB"
has err "one APP_ID"

# Not found: 1.
expect 1 "$TD" project show 00000000000000000000000000000000 --db "$DB"
expect 1 "$TD" project history 00000000000000000000000000000000 --db "$DB"

# Delete: logged; the history survives.
expect 0 "$TD" project delete "$APP" --db "$DB"
expect 1 "$TD" project delete "$APP" --db "$DB"
expect 1 "$TD" project show "$APP" --db "$DB"
expect 0 "$TD" project history "$APP" --db "$DB" --json
has out '"action": "delete"'

# No certificate bytes on disk (the database is closed: no WAL left behind, but look anyway).
expect 0 "$TD" project put --file p1.json --db "$DB"
for f in "$DB" "$DB-wal" "$DB-shm"; do
    [ -f "$f" ] || continue
    for c in $C1 $C2 $C3 $R1; do
        upper=$(printf %s "$c" | tr a-f A-F)
        if grep -a -q -F -e "$c" -e "$upper" "$f"; then fail "certificate text in $f"; fi
    done
done

# API keys.
expect 0 "$TD" apikey create --role admin --name ci --db "$DB"
KEY=$(cat out)
printf %s "$KEY" | grep -q -x 'tdk_[0-9a-f]\{64\}' || fail "apikey create printed '$KEY'"
has err "not shown again"
expect 0 "$TD" apikey create --role reader --db "$DB" --json
has out '"role": "reader"'
has out '"key": "tdk_'
expect 0 "$TD" apikey list --db "$DB"
has out "ci"
has out "admin"
has out "LAST USED"
lacks out "$KEY"
expect 0 "$TD" apikey list --db "$DB" --json
has out '"revoked_at": null'
has out '"last_used_at": null'
lacks out "tdk_"
if grep -a -q -F "${KEY#tdk_}" "$DB"; then fail "API key in the database"; fi
expect 64 "$TD" apikey create --role root --db "$DB"
expect 64 "$TD" apikey create --db "$DB"
expect 64 "$TD" apikey create --role admin --name ci --db "$DB" # name in use
expect 0 "$TD" apikey revoke ci --db "$DB"
expect 1 "$TD" apikey revoke ci --db "$DB"
expect 1 "$TD" apikey revoke "$KEY" --db "$DB"
lacks err "$KEY"
expect 64 "$TD" apikey revoke --db "$DB"
expect 64 "$TD" apikey list --role admin --db "$DB"
has err "for create"
expect 64 "$TD" apikey
has err "give an action"
expect 64 "$TD" apikey rotate --db "$DB"
has err "unknown action"

# A wrong key file: 70 with a clear message, the database untouched.
mkdir other
expect 0 "$TD" project put --file p1.json --db "$DIR/other/o.db"
SUM=$(sha256sum "$DB" | cut -d' ' -f1)
expect 70 "$TD" project show "$APP" --db "$DB" --key-file "$DIR/other/tokendoctor.key"
has err "wrong key file"
expect 70 env TOKENDOCTOR_KEY_FILE="$DIR/other/tokendoctor.key" "$TD" project list --db "$DB"
has err "wrong key file"
[ "$(sha256sum "$DB" | cut -d' ' -f1)" = "$SUM" ] || fail "database changed by a wrong key"

# A missing key file for an existing database: what decrypts (diagnose, mint, put) fails with
# 70; what shows only fingerprints (project list and show: those stored with each change, the
# same JSON as with the key; history, apikey list) works. No new key is made.
mkdir copy
expect 0 "$TD" project put --file p1.json --db "$DIR/copy/td.db"
expect 0 "$TD" project put --file p2.json --db "$DIR/copy/td.db"
expect 0 "$TD" project show "$APP" --db "$DIR/copy/td.db" --json
cp out show-with-key.json
has out "$FP1" # retired
expect 0 "$TD" project list --db "$DIR/copy/td.db" --json
cp out list-with-key.json
mv copy/tokendoctor.key copy.key
expect 0 "$TD" project list --db "$DIR/copy/td.db"
has out "$APP"
expect 0 "$TD" project list --db "$DIR/copy/td.db" --json
cmp -s out list-with-key.json || fail "project list without the key file differs from with it"
expect 0 "$TD" project show "$APP" --db "$DIR/copy/td.db" --json
cmp -s out show-with-key.json || fail "project show without the key file differs from with it"
expect 0 "$TD" project history "$APP" --db "$DIR/copy/td.db"
expect 0 "$TD" apikey list --db "$DIR/copy/td.db"
[ "$(ls copy)" = td.db ] || fail "reads left files beside the database: $(ls copy)"
expect 70 "$TD" diagnose --db "$DIR/copy/td.db" --app-id "$APP" --channel c --no-token
has err "key file"
expect 70 "$TD" mint --version 007 --app-id "$APP" --db "$DIR/copy/td.db" --channel c
has err "key file"
expect 70 "$TD" project put --file p1.json --db "$DIR/copy/td.db"
has err "key file"
[ -e copy/tokendoctor.key ] && fail "a new key was created for a database that has one"
mv copy.key copy/tokendoctor.key

# diagnose and mint read a database whose key file lives elsewhere only with --key-file; they
# never create a database, and "--" makes a token that starts with '-' positional.
mkdir -p k/db k/keys
expect 0 "$TD" project put --file p1.json --db "$DIR/k/db/td.db" --key-file "$DIR/k/keys/td.key"
expect 70 "$TD" diagnose --db "$DIR/k/db/td.db" --app-id "$APP" --channel c --no-token
has err "key"
expect 1 "$TD" diagnose --db "$DIR/k/db/td.db" --key-file "$DIR/k/keys/td.key" --app-id "$APP" \
    --channel c --no-token --json
has out '"cause": "token_required"'
expect 64 "$TD" diagnose --project p1.json --key-file "$DIR/k/keys/td.key" --app-id "$APP" \
    --channel c --no-token
expect 64 "$TD" diagnose --db "$DIR/k/db/none.db" --app-id "$APP" --channel c --no-token
[ -e "$DIR/k/db/none.db" ] && fail "diagnose --db created a database"
expect 0 "$TD" mint --version 007 --app-id "$APP" --db "$DIR/k/db/td.db" \
    --key-file "$DIR/k/keys/td.key" --channel c --uid 7
TOKEN=$(cat out)
lacks out "$C1"
expect 0 "$TD" diagnose --db "$DIR/k/db/td.db" --key-file "$DIR/k/keys/td.key" --app-id "$APP" \
    --channel c --uid 7 "$TOKEN"
expect 70 "$TD" mint --version 007 --app-id "$APP" --db "$DIR/k/db/td.db" --channel c
expect 1 "$TD" mint --version 007 --app-id "$APP" --db "$DIR/k/db/none.db" --channel c
[ -e "$DIR/k/db/none.db" ] && fail "mint --db created a database"
expect 1 "$TD" diagnose --db "$DIR/k/db/td.db" --key-file "$DIR/k/keys/td.key" --app-id "$APP" \
    --channel c --json -- "-007abc"
has out '"cause": "token_malformed"'

# A corrupt file and a read-only file: 70, untouched.
head -c 8192 /dev/urandom >junk.db
SUM=$(sha256sum junk.db | cut -d' ' -f1)
expect 70 "$TD" project put --file p1.json --db "$DIR/junk.db" --key-file "$DIR/data/tokendoctor.key"
has err "not a database"
[ "$(sha256sum junk.db | cut -d' ' -f1)" = "$SUM" ] || fail "corrupt file was written to"
chmod 0444 "$DB"
SUM=$(sha256sum "$DB" | cut -d' ' -f1)
expect 70 "$TD" project put --file p2.json --db "$DB"
has err "read-only"
expect 70 "$TD" apikey create --role admin --db "$DB"
[ "$(sha256sum "$DB" | cut -d' ' -f1)" = "$SUM" ] || fail "read-only file was written to"
chmod 0644 "$DB"

# The environment variable chooses the default database.
expect 0 env TOKENDOCTOR_DB="$DIR/env/e.db" "$TD" project put --file p1.json
[ -f "$DIR/env/e.db" ] && [ -f "$DIR/env/tokendoctor.key" ] || fail "TOKENDOCTOR_DB ignored"
expect 0 env TOKENDOCTOR_DB="$DIR/env/e.db" "$TD" project list
has out "$APP"

# A URL is not a path: before, --db postgresql://h/db made a directory "postgresql:" here with a
# new SQLite database in it. Every command and serve refuse an unsupported one (here the
# PostgreSQL scheme in capitals, which libpq would not recognize) as a usage error (64), from
# --db or $TOKENDOCTOR_DB, name the scheme and never the password; nothing is created.
mkdir url && cd url || exit 2
PGURL=POSTGRESQL://td:sekrit@db.example/td
for args in "project put --file ../p1.json" "project list" "apikey create --role admin" \
    "db backup b.db" "diagnose --app-id $APP --channel c 007eJxTYBBh"; do
    # shellcheck disable=SC2086
    expect 64 "$TD" $args --db "$PGURL"
    has err "postgresql://"
    lacks err "sekrit"
    # shellcheck disable=SC2086
    expect 64 env TOKENDOCTOR_DB="$PGURL" "$TD" $args
    has err "TOKENDOCTOR_DB"
done
# postgresql:// is the PostgreSQL store's: without a key file (there is no default for a URL)
# it is refused before any connection, naming host and database, never the password.
expect 70 "$TD" project list --db "postgresql://td:sekrit@db.example/td"
has err "needs its key file"
has err '"td" on db.example'
lacks err "sekrit"
expect 64 "$TD" mint --version 007 --app-id "$APP" --channel c --db "mysql://u:sekrit@h/x"
has err "mysql://"
lacks err "sekrit"
expect 64 "$TD" project list --db "file:td.db"
# SQLite's in-memory name would keep nothing: before, put made a key file here and exited 70
# with "cannot enable WAL mode: not an error".
expect 64 "$TD" project put --file ../p1.json --db ":memory:"
has err "in-memory"
expect 64 timeout 10 "$TD" serve --listen 127.0.0.1:0 --db "$PGURL"
lacks err "sekrit"
expect 64 env TOKENDOCTOR_DB="$PGURL" timeout 10 "$TD" serve --listen 127.0.0.1:0
expect 64 timeout 10 "$TD" serve --listen 127.0.0.1:0 --db "$DIR/url/s.db" --log-db "http://x/y"
[ "$(ls -A | grep -v -x -e out -e err)" = "" ] || fail "a URL given as --db created: $(ls -A)"
# A path that starts like a URL is written ./NAME://...
expect 0 "$TD" project put --file ../p1.json --db "./postgresql://td.db"
[ -f "postgresql:/td.db" ] || fail "./postgresql://td.db is not a path"
cd "$DIR" || exit 2

# Reading, deleting or revoking on a database that does not exist is "not found" (1), and
# leaves no empty database behind; only put and apikey create make one.
for args in "project list" "project show $APP" "project history $APP" "project delete $APP" \
    "apikey list" "apikey revoke k1"; do
    # shellcheck disable=SC2086
    expect 1 "$TD" $args --db "$DIR/none/n.db"
    has err "no such database"
    [ -e "$DIR/none" ] && fail "$args created $DIR/none"
done
expect 0 "$TD" apikey create --role reader --db "$DIR/fresh/f.db"
[ -f "$DIR/fresh/f.db" ] || fail "apikey create did not create the database"

# ---- Where state lives ------------------------------------------------------------------------
# A token the stored configuration of copy/td.db (p2: primary C3) accepts.
printf %s "$C3" >c3.txt
"$TD" mint --version 007 --app-id "$APP" --certificate-file c3.txt --channel c --uid 7 >token.txt ||
    fail "mint --certificate-file"
TOKEN=$(cat token.txt)

# The reading commands open the database read-only: they work on a read-only file, in a
# read-only directory and for a user who may not write either, and leave nothing beside the file
# (a -shm made by a reader would carry the file's read-only mode and stop its owner's next write).
# reads WHO: every reading command, run as WHO ("" = this user) on ro/td.db.
reads() {
    # shellcheck disable=SC2086
    expect 0 $1 "$TD" project list --db "$DIR/ro/td.db"
    has out "$APP"
    # shellcheck disable=SC2086
    expect 0 $1 "$TD" project show "$APP" --db "$DIR/ro/td.db" --json
    cmp -s out show-with-key.json || fail "project show read-only ($1) differs"
    # shellcheck disable=SC2086
    expect 0 $1 "$TD" project history "$APP" --db "$DIR/ro/td.db"
    # shellcheck disable=SC2086
    expect 0 $1 "$TD" apikey list --db "$DIR/ro/td.db"
    has out "reader-ro"
    # shellcheck disable=SC2086
    expect 0 $1 "$TD" diagnose --db "$DIR/ro/td.db" --app-id "$APP" --channel c --uid 7 "$TOKEN"
    # shellcheck disable=SC2086
    expect 0 $1 "$TD" mint --version 007 --app-id "$APP" --db "$DIR/ro/td.db" --channel c
}
mkdir ro
cp copy/td.db copy/tokendoctor.key ro/
expect 0 "$TD" apikey create --role reader --name reader-ro --db "$DIR/ro/td.db"
chmod 0444 ro/td.db
SUM=$(sha256sum ro/td.db | cut -d' ' -f1)
reads ""
[ "$(sha256sum ro/td.db | cut -d' ' -f1)" = "$SUM" ] || fail "a read changed a read-only file"
[ "$(ls ro | tr '\n' ' ')" = "td.db tokendoctor.key " ] || fail "a read left files: $(ls ro)"
chmod 0644 ro/td.db
expect 0 "$TD" apikey create --role reader --name after-ro --db "$DIR/ro/td.db" # still writable
if [ "$(id -u)" -ne 0 ]; then
    chmod 0555 ro
    reads ""
    chmod 0755 ro
else
    # Root writes anything: the user who cannot write is nobody. It may read the database and,
    # first, the key file; then not the key file (0600 root): fingerprints only, diagnose 70.
    chmod 0755 "$DIR" ro
    chmod 0644 ro/tokendoctor.key
    SUM=$(sha256sum ro/td.db | cut -d' ' -f1)
    NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
    reads "$NOBODY"
    chmod 0600 ro/tokendoctor.key
    expect 0 $NOBODY "$TD" project show "$APP" --db "$DIR/ro/td.db" --json
    cmp -s out show-with-key.json || fail "project show without read access to the key differs"
    expect 70 $NOBODY "$TD" diagnose --db "$DIR/ro/td.db" --app-id "$APP" --channel c "$TOKEN"
    has err "key file"
    [ "$(sha256sum ro/td.db | cut -d' ' -f1)" = "$SUM" ] || fail "nobody's reads changed the file"
    [ "$(ls ro | tr '\n' ' ')" = "td.db tokendoctor.key " ] || fail "reads left files: $(ls ro)"
    chmod 0700 "$DIR"
fi

# diagnose without --project, --db or --no-db reads the default database, and a missing one is
# an error naming the path it looked for (70) -- never "project unknown" for a stored project.
mkdir -p cwd/data
cd cwd || exit 2
expect 70 "$TD" diagnose --app-id "$APP" --channel c --uid 7 "$TOKEN"
has err "./data/tokendoctor.db"
has err "no-db"
expect 70 env TOKENDOCTOR_DB="$DIR/none/x.db" "$TD" diagnose --app-id "$APP" --channel c "$TOKEN"
has err "$DIR/none/x.db"
printf '{"app_id": "%s", "channel": "c", "uid": 7, "token": "%s"}\n' "$APP" "$TOKEN" >batch.jsonl
expect 70 "$TD" diagnose --batch batch.jsonl
has err "./data/tokendoctor.db"
[ -e data/tokendoctor.db ] && fail "diagnose created the default database"
expect 2 "$TD" diagnose --no-db --app-id "$APP" --channel c --uid 7 "$TOKEN" # project unknown
expect 0 "$TD" diagnose --no-db --batch batch.jsonl
has out '"project_unknown"'
expect 64 "$TD" diagnose --no-db --db "$DIR/copy/td.db" --app-id "$APP" --channel c "$TOKEN"
expect 64 "$TD" diagnose --no-db --project ../p1.json --app-id "$APP" --channel c "$TOKEN"
expect 0 "$TD" diagnose --help
has out "--no-db"
cp ../copy/td.db data/tokendoctor.db
cp ../copy/tokendoctor.key data/tokendoctor.key
expect 0 "$TD" diagnose --app-id "$APP" --channel c --uid 7 "$TOKEN"
cd "$DIR" || exit 2
expect 0 env TOKENDOCTOR_DB="$DIR/cwd/data/tokendoctor.db" "$TD" diagnose --app-id "$APP" \
    --channel c --uid 7 "$TOKEN"

# mint without --certificate-file signs with the default database: $TOKENDOCTOR_DB, as its --help
# says, else ./data/tokendoctor.db.
expect 0 env TOKENDOCTOR_DB="$DIR/cwd/data/tokendoctor.db" "$TD" mint --version 007 \
    --app-id "$APP" --channel c --uid 7
expect 0 "$TD" diagnose --db "$DIR/copy/td.db" --app-id "$APP" --channel c --uid 7 "$(cat out)"
expect 1 env TOKENDOCTOR_DB="$DIR/none/y.db" "$TD" mint --version 007 --app-id "$APP" --channel c
has err "$DIR/none/y.db"
has err "certificate-file"
(cd cwd && "$TD" mint --version 007 --app-id "$APP" --channel c --uid 7 >../out 2>../err) ||
    fail "mint with ./data/tokendoctor.db: $(cat err)"
expect 0 "$TD" mint --help
has out "TOKENDOCTOR_DB"

if [ "$FAILS" -ne 0 ]; then
    echo "$FAILS failure(s)" >&2
    exit 1
fi
echo "ok: project and apikey commands"
