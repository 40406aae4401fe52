#!/bin/sh
# test_cli_bulk.sh -- `tokendoctor project import|export` and `tokendoctor db backup` end to end:
# JSON lines and arrays, all-or-nothing and --continue-on-error (line numbers), --dry-run,
# unchanged configurations (no change-log entry), the export -> import round trip into a fresh
# database, the refusal of fingerprint-only lines, and a backup taken while another process
# writes. Fingerprints are computed here with sha256sum (the contract: the first 8 hex digits of
# the certificate's SHA-256), never taken from the program. Works in a mktemp directory only.
# Usage: test_cli_bulk.sh PATH/TO/tokendoctor
NAME=test_cli_bulk.sh
. "$(dirname "$0")/cli_lib.sh"
DB="$DIR/one/td.db"
DB2="$DIR/two/td.db"

fp() { printf %s "$1" | sha256sum | cut -c1-8; }
# The number of entries in the change log of app $1 in database $2.
log_entries() { "$TD" project history "$1" --db "$2" --json | grep -c '"action"'; }

A=0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a
B=0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b
C=0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c
D=0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d
CA1=a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1
CA2=a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2
CB1=b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1
RB1=b9b9b9b9b9b9b9b9b9b9b9b9b9b9b9b9
RB2=b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8
CC1=c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1
CD1=d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1
E0=0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e00

LA='{"app_id":"'$A'","name":"a","primary":{"certificate":"'$CA1'","enabled":true},"secondary":{"certificate":"'$CA2'","enabled":false},"cohost_auth":true}'
LB='{"app_id":"'$B'","name":"b","primary":{"certificate":"'$CB1'","enabled":true},"retired_certificates":["'$RB1'","'$RB2'"]}'
LC='{"app_id":"'$C'","name":"c","no_certificate":true}'
LD='{"app_id":"'$D'","name":"d","primary":{"certificate":"'$CD1'","enabled":true}}'

# ---- JSON lines: created, with blank lines skipped; no progress bar on a pipe --------------------
printf '%s\n\n%s\n  \n%s\n' "$LA" "$LB" "$LC" >three.jsonl
expect 0 "$TD" project import three.jsonl --db "$DB"
has out "3 created, 0 replaced, 0 unchanged, 0 failed"
[ -s err ] && fail "stderr is not empty on a pipe: $(cat err)"
expect 0 "$TD" project show "$B" --db "$DB" --json
has out "$(fp "$CB1")"
has out "$(fp "$RB1")"
has out "$(fp "$RB2")"
lacks out "$CB1"
[ "$(log_entries "$A" "$DB")" = 1 ] || fail "one change-log entry for a created project"

# ---- the same as a JSON array (standard input): unchanged, not logged --------------------------
printf '[%s,\n %s,\n %s]\n' "$LA" "$LB" "$LC" >three.json
expect 0 "$TD" project import - --db "$DB" --json <three.json
has out '"unchanged": 3'
has out '"created": 0'
[ "$(log_entries "$A" "$DB")" = 1 ] || fail "an unchanged project gets no change-log entry"
[ "$(log_entries "$B" "$DB")" = 1 ] || fail "an unchanged project gets no change-log entry (B)"

# ---- one changed (a's secondary enabled): replaced and logged, the rest unchanged --------------
LA2=$(printf %s "$LA" | sed 's/"enabled":false/"enabled":true/')
printf '[%s, %s]' "$LA2" "$LB" >changed.json
expect 0 "$TD" project import changed.json --db "$DB"
has out "0 created, 1 replaced, 1 unchanged, 0 failed"
[ "$(log_entries "$A" "$DB")" = 2 ] || fail "a replaced project gets one change-log entry"

# ---- all or nothing: a bad line 3 stops everything --------------------------------------------
printf '%s\n%s\n%s\n' "$LD" "$LA" '{"app_id":"xyz","name":"bad"}' >bad.jsonl
expect 64 "$TD" project import bad.jsonl --db "$DB"
has err "line 3: app_id"
has err "nothing was imported"
expect 1 "$TD" project show "$D" --db "$DB"
# A failed first import leaves nothing behind: before, it left an empty database, its key file
# and the directory made for them. A database that was there stays, and so does a key file.
expect 64 "$TD" project import bad.jsonl --db "$DIR/first/sub/td.db"
[ ! -e "$DIR/first" ] || fail "a failed first import left: $(ls -RA "$DIR/first")"
mkdir -p "$DIR/first/kept" && cp "$DIR/one/tokendoctor.key" "$DIR/first/kept/tokendoctor.key"
expect 64 "$TD" project import bad.jsonl --db "$DIR/first/kept/td.db"
[ "$(ls -A "$DIR/first/kept")" = tokendoctor.key ] || fail "kept: $(ls -A "$DIR/first/kept")"

# ---- --continue-on-error: the bad line reported with its number, the rest imported -------------
printf '%s\n%s\n%s\n%s\n' "$LD" '{"app_id":"'$C'","bogus":1}' "$LA2" 'not json' >mixed.jsonl
expect 1 "$TD" project import mixed.jsonl --db "$DB" --continue-on-error --json
has err "line 2: bogus"
has err "line 4: invalid JSON"
has out '"created": 1'
has out '"unchanged": 1'
has out '"failed": 2'
has out '"line": 2'
has out '"line": 4'
expect 0 "$TD" project show "$D" --db "$DB" --json
has out "$(fp "$CD1")"

# ---- in an array, a failure is reported at the line where its item starts ---------------------
printf '[\n%s,\n{"app_id": "%s",\n "name": 7}\n]\n' "$LC" "$E0" >items.json
expect 1 "$TD" project import items.json --db "$DB" --continue-on-error
has err "line 3: name"

# ---- array framing errors stop the import (its items cannot be found any more) ---------------
printf '[%s,\n' "$LA" >open.json
expect 64 "$TD" project import open.json --db "$DB" --continue-on-error
has err "does not end"

# ---- a line over the limit is one failure, not a crash or a silent cut ------------------------
{ printf '{"app_id":"%s","name":"' "$A"; head -c 1100000 /dev/zero | tr '\0' 'x'; printf '"}\n%s\n' "$LC"; } >long.jsonl
expect 1 "$TD" project import long.jsonl --db "$DB" --continue-on-error
has err "line 1: longer than"
has out "1 unchanged, 1 failed"

# ---- --dry-run: counted, nothing written; no database is created ------------------------------
E=0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e
printf '%s\n' '{"app_id":"'$E'","no_certificate":true}' "$LA2" >dry.jsonl
expect 0 "$TD" project import dry.jsonl --db "$DB" --dry-run
has out "1 created, 0 replaced, 1 unchanged, 0 failed (dry run: nothing written)"
expect 1 "$TD" project show "$E" --db "$DB"
expect 1 "$TD" project import dry.jsonl --db "$DIR/none/td.db" --dry-run
[ -e "$DIR/none/td.db" ] && fail "a dry run created a database"

# ---- usage -----------------------------------------------------------------------------------
expect 64 "$TD" project import dry.jsonl --db "$DB" --certificates-for x
expect 64 "$TD" project export --db "$DB" --dry-run
expect 64 "$TD" project export --db "$DB" --format csv
expect 64 "$TD" project import missing.jsonl --db "$DB"

# ---- export -> import into a fresh database gives the same projects ---------------------------
expect 0 "$TD" project import - --db "$DB2" </dev/null
has out "0 created"
[ -f "$DIR/two/tokendoctor.key" ] || fail "an empty import creates the database's key file"
expect 0 "$TD" project export --db "$DB" --certificates-for "$DIR/two/tokendoctor.key"
mv out sealed.jsonl
[ "$(wc -l <sealed.jsonl)" = 4 ] || fail "export writes one line per project"
lacks sealed.jsonl "$CA1"
lacks sealed.jsonl "$RB1"
has sealed.jsonl "sealed_certificate"
expect 0 "$TD" project import sealed.jsonl --db "$DB2"
has out "4 created, 0 replaced, 0 unchanged, 0 failed"
for app in $A $B $C $D; do
    "$TD" project show "$app" --db "$DB" --json | grep -v '_at"' >one.json
    "$TD" project show "$app" --db "$DB2" --json | grep -v '_at"' >two.json
    cmp -s one.json two.json || fail "project $app differs after export and import"
done
"$TD" project show "$A" --db "$DB2" --json >a.json
has a.json "$(fp "$CA1")"
has a.json "$(fp "$CA2")"
# Importing the same export again changes nothing.
expect 0 "$TD" project import sealed.jsonl --db "$DB2"
has out "0 created, 0 replaced, 4 unchanged, 0 failed"
# A database with another key file cannot open the sealed certificates.
expect 64 "$TD" project import sealed.jsonl --db "$DIR/three/td.db"
has err "does not open with the key file"

# ---- fingerprint-only lines are refused, naming the line and the way out ----------------------
expect 0 "$TD" project export --db "$DB"
mv out fps.jsonl
has fps.jsonl "$(fp "$CB1")"
lacks fps.jsonl "sealed_certificate"
has err "fingerprints only"
expect 64 "$TD" project import fps.jsonl --db "$DB2"
has err "line 1: "
has err "--certificates-for"

# ---- backup while another process writes (the copy is the owner's only: mode 0600) -----------------------------------------------------
i=0
while [ $i -lt 60 ]; do
    printf '{"app_id":"%032x","name":"w%d","no_certificate":true}\n' $((i + 4096)) $i
    i=$((i + 1))
done >writes.jsonl
(
    while read -r line; do
        printf '%s\n' "$line" | "$TD" project put - --db "$DB" >/dev/null 2>&1
    done <writes.jsonl
) &
WRITER=$!
sleep 0.2
expect 0 "$TD" db backup "$DIR/backup.db" --db "$DB"
has out "backup.db"
wait $WRITER
case $(stat -c %a "$DIR/backup.db") in 600) ;; *) fail "the backup's mode is not 0600" ;; esac
[ "$(sqlite3 "$DIR/backup.db" 'PRAGMA integrity_check')" = ok ] || fail "the backup is not intact"
n=$(sqlite3 "$DIR/backup.db" 'SELECT count(*) FROM projects')
[ "$n" -ge 4 ] && [ "$n" -le 64 ] || fail "the backup holds $n projects"
logged=$(sqlite3 "$DIR/backup.db" "SELECT count(DISTINCT app_id) FROM config_log WHERE action='create'")
[ "$logged" = "$n" ] || fail "the backup's log ($logged creates) disagrees with its projects ($n)"
expect 0 "$TD" project show "$B" --db "$DIR/backup.db" --key-file "$DIR/one/tokendoctor.key" --json
has out "$(fp "$CB1")"
expect 64 "$TD" db backup "$DIR/backup.db" --db "$DB"
has err "exists"
expect 1 "$TD" db backup "$DIR/b2.db" --db "$DIR/none.db"
expect 64 "$TD" db restore x --db "$DB"
# db migrate: an up-to-date store is left as it is; a missing one is created.
expect 0 "$TD" db migrate --db "$DB"
has out "schema up to date"
expect 0 "$TD" db migrate --db "$DIR/fresh/f.db" --json
has out '"ready": true'
[ -f "$DIR/fresh/f.db" ] || fail "db migrate did not create the database"

# ---- a stored project whose certificate no longer decrypts (damaged): that line fails and is
# rolled back alone (no change-log entry), the next one is imported --------------------------
sqlite3 "$DB2" "UPDATE projects SET primary_cert = zeroblob(60) WHERE app_id = '$D'"
before=$(log_entries "$D" "$DB2")
F=0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f
printf '%s\n%s\n' '{"app_id":"'$D'","name":"d2","no_certificate":true}' \
    '{"app_id":"'$F'","no_certificate":true}' >damaged.jsonl
expect 1 "$TD" project import damaged.jsonl --db "$DB2" --continue-on-error
has err "line 1: cannot decrypt"
has out "1 created, 0 replaced, 0 unchanged, 1 failed"
[ "$(log_entries "$D" "$DB2")" = "$before" ] || fail "a failed line left a change-log entry"
expect 64 "$TD" project import damaged.jsonl --db "$DB2"

# ---- project list reads a page (1,000) at a time: 2,345 projects cross two page boundaries ------
# Before, it read every project into memory at once (a million would take gigabytes). Each
# project is listed once, in App ID order, and --json is still one indented array.
DB3="$DIR/list/td.db"
i=0
while [ $i -lt 2345 ]; do
    printf '{"app_id":"%032x","name":"p%d","primary":{"certificate":"%032x","enabled":true}}\n' \
        $((i * 7919 % 2345 + 1)) $i $((i + 77))
    i=$((i + 1))
done >many.jsonl
expect 0 "$TD" project import many.jsonl --db "$DB3"
has out "2345 created"
expect 0 "$TD" project list --db "$DB3"
[ "$(wc -l <out)" = 2346 ] || fail "project list: $(wc -l <out) lines for 2,345 projects"
head -n 1 out | grep -q "^APP ID" || fail "project list: no header"
tail -n +2 out | cut -c1-32 >listed
sort -u listed | cmp -s - listed || fail "project list: not in App ID order, or a project twice"
[ "$(head -n 1 listed)" = "$(printf %032x 1)" ] && [ "$(tail -n 1 listed)" = "$(printf %032x 2345)" ] ||
    fail "project list: first or last project missing"
expect 0 "$TD" project list --db "$DB3" --json
[ "$(head -n 1 out)" = "[" ] && [ "$(tail -n 1 out)" = "]" ] || fail "project list --json: not an array"
[ "$(grep -c '^    "app_id": ' out)" = 2345 ] || fail "project list --json: not 2,345 elements at depth 1"
[ "$(grep -c '^  },$' out)" = 2344 ] && [ "$(grep -c '^  }$' out)" = 1 ] ||
    fail "project list --json: elements not separated as one array"
grep '^    "app_id": ' out | cut -d'"' -f4 | cmp -s - listed || fail "project list --json: order"
# An empty database lists nothing.
expect 0 "$TD" project import --db "$DIR/empty/td.db" </dev/null
expect 0 "$TD" project list --db "$DIR/empty/td.db" --json
[ "$(cat out)" = "[]" ] || fail "project list --json on an empty database: $(cat out)"
expect 0 "$TD" project list --db "$DIR/empty/td.db"
has out "no projects in"

if [ "$FAILS" -ne 0 ]; then
    echo "test_cli_bulk.sh: $FAILS failure(s)" >&2
    exit 1
fi
echo "test_cli_bulk.sh: ok"
