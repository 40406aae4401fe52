#!/usr/bin/env python3
"""tests/fleet/fleet.py -- two `tokendoctor serve` nodes on one database, as behind a load balancer.

    tests/fleet/fleet.py BUILD_DIR --db URL_OR_PATH [--pg-dir DIR]

Starts nodes A and B (each on its own ephemeral loopback port, --port-file) on the same database
with the same key file, an admin API key made with `tokendoctor apikey create`, and checks what
docs/deployment.md promises of a fleet, through the HTTP API exactly as docs/api.md documents it
(Authorization: Bearer, PUT/GET /v1/projects/{app_id}, POST /v1/diagnose, GET .../diagnoses,
/readyz):

  propagate   a project PUT through A is known to B within 1 s (B had diagnosed it unknown), and
              its replacement (another primary certificate) is diagnosed correctly by B within 1 s
  revoke      a key both nodes have verified, revoked (`tokendoctor apikey revoke`: there is no
              HTTP route for keys), is refused (401/403) by both within 1 s
  outage      (--pg-dir only) PostgreSQL stopped: both keep diagnosing a cached project (200) and
              report not ready (/readyz 503); a read (GET /v1/projects, with a cached key) is 503
              store_unavailable, and so is a valid admin key not verified yet (not 401, and not
              remembered as wrong: it works within 1 s once PostgreSQL is back); started again
              (pg_ctl via tests/pg/pg.sh): both are ready, diagnose, authenticate and see each
              other's changes within 1 s again, with no restart of their own
  sigkill     A killed with SIGKILL (its log flushed first: a killed process loses what it has
              queued, by design): B keeps answering 200, and writes
  log-once    every diagnosis answered 200, by either node, is in the diagnosis log exactly once
              (each carries a unique uid; read back through B's GET .../diagnoses)

Each check prints one line; the last line is "fleet: N passed, M failed"; the exit status is 1
when a check failed. Python 3 standard library only. The whole run takes some 10-20 s.
"""

import argparse
import http.client
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time

LIMIT_S = 1.0  # the promise: a change through one node is seen by every node within a second
POLL_S = 0.02
REQ_TIMEOUT_S = 3.0


class Fleet:
    def __init__(self, args):
        self.bin = os.path.join(os.path.abspath(args.build), "cli", "tokendoctor")
        self.db = args.db
        self.pg_dir = args.pg_dir
        self.pg_sh = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pg", "pg.sh")
        self.tmp = tempfile.mkdtemp(prefix="fleet.")
        self.key_file = os.path.join(self.tmp, "fleet.key")
        self.nodes = {}  # name -> (Popen, port)
        self.passed = 0
        self.failed = 0
        self.uid = 1000  # every diagnosis gets its own uid: the log check counts them
        self.answered = {}  # uid -> the phase it was answered in, for the diagnoses answered 200
        self.phase = "propagate"
        self.pg_down = False

    # --- reporting -------------------------------------------------------------------------
    def check(self, ok, name, detail):
        print(f"fleet: {'ok  ' if ok else 'FAIL'} {name}: {detail}", flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        return ok

    def fatal(self, what):
        print(f"fleet: FAIL {what}", flush=True)
        self.failed += 1
        raise SystemExit(self.finish())

    def finish(self):
        print(f"fleet: {self.passed} passed, {self.failed} failed", flush=True)
        return 1 if self.failed else 0

    # --- processes -------------------------------------------------------------------------
    def cli(self, *argv):
        r = subprocess.run([self.bin, *argv, "--db", self.db, "--key-file", self.key_file],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            self.fatal(f"tokendoctor {' '.join(argv)}: exit {r.returncode}: {r.stderr.strip()}")
        return r.stdout

    def start_node(self, name):
        port_file = os.path.join(self.tmp, f"{name}.port")
        err = open(os.path.join(self.tmp, f"{name}.err"), "ab")
        p = subprocess.Popen(
            [self.bin, "serve", "--listen", "127.0.0.1:0", "--port-file", port_file,
             "--db", self.db, "--key-file", self.key_file, "--threads", "2",
             "--no-bootstrap-key", "--rate-limit", "0", "--access-log", "off"],
            stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        err.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if p.poll() is not None:
                self.fatal(f"node {name} exited with {p.returncode} at start:\n{self.err_tail(name)}")
            try:
                with open(port_file) as f:
                    port = int(f.read().strip() or "0")
                if port:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.01)
        else:
            self.fatal(f"node {name} did not listen within 30 s:\n{self.err_tail(name)}")
        self.nodes[name] = (p, port)
        if not self.wait_for(lambda: self.get(name, "/readyz")[0] == 200, 30):
            self.fatal(f"node {name}: /readyz not 200 within 30 s: {self.get(name, '/readyz')}"
                       f"\n{self.err_tail(name)}")

    def err_tail(self, name):
        try:
            with open(os.path.join(self.tmp, f"{name}.err"), errors="replace") as f:
                return "".join(f.readlines()[-20:])
        except OSError:
            return ""

    def stop_all(self):
        for name, (p, _) in self.nodes.items():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for name, (p, _) in self.nodes.items():
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def pg(self, action):
        r = subprocess.run([self.pg_sh, action, self.pg_dir], capture_output=True, text=True,
                           timeout=90)
        if r.returncode != 0:
            self.fatal(f"pg.sh {action}: {r.stderr.strip()}")

    # --- HTTP ------------------------------------------------------------------------------
    def request(self, name, method, path, body=None, key=None):
        """(status, parsed JSON or None); status 0 when the node did not answer."""
        _, port = self.nodes[name]
        headers = {}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQ_TIMEOUT_S)
        try:
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
            try:
                doc = json.loads(raw) if raw else None
            except ValueError:
                doc = None
            return resp.status, doc
        except (OSError, http.client.HTTPException):
            return 0, None
        finally:
            conn.close()

    def get(self, name, path, key=None):
        return self.request(name, "GET", path, key=key)

    def diagnose(self, name, app_id, token):
        """One diagnosis with a uid of its own; (status, answer). A 200 is remembered."""
        self.uid += 1
        uid = self.uid
        status, doc = self.request(name, "POST", "/v1/diagnose", {
            "app_id": app_id, "token": token, "channel": "fleet", "uid": uid})
        if status == 200:
            self.answered[uid] = self.phase
        return status, doc

    @staticmethod
    def wait_for(pred, limit_s):
        """Polls pred until it holds; the seconds it took, or None after limit_s."""
        t0 = time.monotonic()
        while True:
            if pred():
                return time.monotonic() - t0
            if time.monotonic() - t0 > limit_s:
                return None
            time.sleep(POLL_S)

    # --- the checks ------------------------------------------------------------------------
    def mint(self, app_id, cert):
        path = os.path.join(self.tmp, f"cert-{cert[:8]}")
        with open(path, "w") as f:
            f.write(cert + "\n")
        r = subprocess.run([self.bin, "mint", "--version", "007", "--app-id", app_id,
                            "--certificate-file", path, "--channel", "fleet", "--uid", "0",
                            "--expire", "86400"], capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            self.fatal(f"tokendoctor mint: {r.stderr.strip()}")
        return r.stdout.strip()

    def put(self, name, app_id, cert):
        return self.request(name, "PUT", f"/v1/projects/{app_id}", {
            "name": "fleet", "primary": {"certificate": cert, "enabled": True}}, key=self.admin)

    def converge(self, writer, reader, app_id, cert, token, want, what):
        status, _ = self.put(writer, app_id, cert)
        if not self.check(status in (200, 201), f"{what}: PUT through {writer}",
                          f"status {status}"):
            return
        last = {}

        def seen():
            st, doc = self.diagnose(reader, app_id, token)
            last["v"] = (st, doc and {k: doc.get(k) for k in ("verdict", "cause", "project")})
            return st == 200 and want(doc)

        took = self.wait_for(seen, LIMIT_S)
        self.check(took is not None, f"{what}: seen by {reader}",
                   f"within {took * 1000:.0f} ms" if took is not None
                   else f"not within {LIMIT_S:.0f} s; last answer {last.get('v')}")

    def run(self):
        app_id = secrets.token_hex(16)
        cert1, cert2, cert3 = (secrets.token_hex(16) for _ in range(3))
        token2 = self.mint(app_id, cert2)
        token3 = self.mint(app_id, cert3)

        print(f"fleet: database {self.db}", flush=True)
        self.start_node("A")
        self.admin = self.cli("apikey", "create", "--role", "admin", "--name", "fleet-admin").strip()
        self.start_node("B")
        pa, pb = self.nodes["A"][1], self.nodes["B"][1]
        print(f"fleet: node A on port {pa}, node B on port {pb}, both ready", flush=True)

        # propagate: B first diagnoses the App ID as unknown (so that it could cache that).
        st, doc = self.diagnose("B", app_id, token2)
        self.check(st == 200 and not doc["project"]["known"], "propagate: B before the PUT",
                   f"status {st}, project known: {doc and doc['project']['known']}")
        self.converge("A", "B", app_id, cert1, token2,
                      lambda d: d["project"]["known"] and d["verdict"] != "joinable",
                      "propagate (new project)")
        self.converge("A", "B", app_id, cert2, token2,
                      lambda d: d["verdict"] == "joinable" and d["project"]["signed_with"] == "primary",
                      "propagate (certificate replaced)")
        st, doc = self.diagnose("A", app_id, token2)
        self.check(st == 200 and doc["verdict"] == "joinable", "propagate: A agrees",
                   f"status {st}, verdict {doc and doc['verdict']}")

        self.phase = "revoke"
        reader = self.cli("apikey", "create", "--role", "reader", "--name", "fleet-reader").strip()
        statuses = [self.get(n, f"/v1/projects/{app_id}", key=reader)[0] for n in ("A", "B")]
        self.check(statuses == [200, 200], "revoke: the reader key works on A and B first",
                   f"statuses {statuses}")
        self.cli("apikey", "revoke", "fleet-reader")
        for n in ("A", "B"):
            last = {}

            def refused(n=n, last=last):
                last["s"] = self.get(n, f"/v1/projects/{app_id}", key=reader)[0]
                return last["s"] in (401, 403)

            took = self.wait_for(refused, LIMIT_S)
            self.check(took is not None, f"revoke: refused by {n}",
                       f"{last['s']} within {took * 1000:.0f} ms" if took is not None
                       else f"still {last['s']} after {LIMIT_S:.0f} s")
        statuses = [self.get(n, f"/v1/projects/{app_id}", key=self.admin)[0] for n in ("A", "B")]
        self.check(statuses == [200, 200], "revoke: the admin key still works on A and B",
                   f"statuses {statuses}")

        if self.pg_dir:
            self.outage(app_id, cert3, token2, token3)
        else:
            print("fleet: skip outage: not a PostgreSQL database (--pg-dir not given)", flush=True)

        # sigkill: flush A's log through its own GET .../diagnoses, then kill it.
        self.phase = "sigkill"
        st, _ = self.get("A", f"/v1/projects/{app_id}/diagnoses?limit=1", key=self.admin)
        self.check(st == 200, "sigkill: A's log flushed before the kill", f"status {st}")
        pA = self.nodes["A"][0]
        pA.send_signal(signal.SIGKILL)
        pA.wait()
        token_now = token3 if self.pg_dir else token2
        results = [self.diagnose("B", app_id, token_now) for _ in range(20)]
        bad = [(s, d and d.get("verdict")) for s, d in results
               if s != 200 or d.get("verdict") != "joinable"]
        self.check(not bad, "sigkill: B keeps diagnosing after A's SIGKILL",
                   f"20 diagnoses, {20 - len(bad)} answered 200 joinable" + (f"; others {bad[:3]}" if bad else ""))
        st, _ = self.get("B", "/readyz")
        self.check(st == 200, "sigkill: B is ready", f"/readyz {st}")
        st, _ = self.put("B", app_id, cert2 if not self.pg_dir else cert3)
        self.check(st in (200, 201), "sigkill: B writes", f"PUT {st}")

        self.log_once(app_id)
        return self.finish()

    @staticmethod
    def error_code(doc):
        err = (doc or {}).get("error")
        return err.get("code") if isinstance(err, dict) else err

    def outage(self, app_id, cert3, token2, token3):
        # A second admin key that neither node verifies before the outage (made first: a key
        # change empties the caches, which the diagnoses below fill again).
        fresh = self.cli("apikey", "create", "--role", "admin", "--name", "fleet-fresh").strip()
        # That change reaches each node within LIMIT_S (the promise checked above), not at once: a
        # node that saw it only after the diagnoses below had filled its cache would empty the
        # cache then -- during the outage -- and have nothing to answer from (seen under load).
        time.sleep(LIMIT_S)
        # Both nodes cache the project (the key revoked before emptied their caches: a
        # configuration change) and the admin key, then the database goes away.
        for n in ("A", "B"):
            st, doc = self.diagnose(n, app_id, token2)
            if not self.check(st == 200 and doc["verdict"] == "joinable",
                              f"outage: {n} diagnoses before PostgreSQL stops",
                              f"status {st}, verdict {doc and doc.get('verdict')}"):
                return
            st, _ = self.get(n, f"/v1/projects/{app_id}", key=self.admin)
            self.check(st == 200, f"outage: {n} verifies the admin key before PostgreSQL stops",
                       f"status {st}")
        self.pg("halt")
        self.pg_down = True
        self.phase = "outage (PostgreSQL down)"
        t_end = time.monotonic() + 1.5
        n_ok, n_all, other = 0, 0, []
        while time.monotonic() < t_end:
            for n in ("A", "B"):
                st, doc = self.diagnose(n, app_id, token2)
                n_all += 1
                if st == 200 and doc["verdict"] == "joinable":
                    n_ok += 1
                elif len(other) < 3:
                    other.append((n, st, doc and (doc.get("verdict") or doc.get("error"))))
            time.sleep(0.05)
        self.check(n_ok == n_all, "outage: both diagnose from their cache while PostgreSQL is down",
                   f"{n_ok} of {n_all} answered 200 joinable" + (f"; e.g. {other}" if other else ""))
        for n in ("A", "B"):
            last = {}

            def not_ready(n=n, last=last):
                last["s"] = self.get(n, "/readyz")[0]
                return last["s"] == 503

            took = self.wait_for(not_ready, 3.0)
            self.check(took is not None, f"outage: {n} reports not ready",
                       f"/readyz 503 (after {took * 1000:.0f} ms more)" if took is not None
                       else f"/readyz {last['s']} while PostgreSQL is down")
        for n in ("A", "B"):
            st, doc = self.get(n, "/v1/projects", key=self.admin)
            self.check(st == 503 and self.error_code(doc) == "store_unavailable",
                       f"outage: {n} answers a read with a cached key 503 store_unavailable",
                       f"GET /v1/projects: {st} {self.error_code(doc)}")
            st, doc = self.get(n, f"/v1/projects/{app_id}", key=fresh)
            self.check(st == 503 and self.error_code(doc) == "store_unavailable",
                       f"outage: {n} answers a key it cannot check 503, not 401",
                       f"GET with a valid key not verified yet: {st} {self.error_code(doc)}")
        self.pg("resume")
        t_back = time.monotonic()
        for n in ("A", "B"):
            last = {}

            def fresh_works(n=n, last=last):
                last["s"] = self.get(n, f"/v1/projects/{app_id}", key=fresh)[0]
                return last["s"] == 200

            took = self.wait_for(fresh_works, LIMIT_S)
            self.check(took is not None, f"outage: {n} accepts that key once PostgreSQL is back",
                       f"200 {time.monotonic() - t_back:.2f} s after PostgreSQL started"
                       if took is not None else f"still {last['s']} after {LIMIT_S:.0f} s")
        self.pg_down = False
        self.phase = "outage (after)"
        t0 = time.monotonic()
        for n in ("A", "B"):
            last = {}

            def ready(n=n, last=last):
                last["s"] = self.get(n, "/readyz")
                return last["s"][0] == 200

            took = self.wait_for(ready, 10.0)
            self.check(took is not None, f"outage: {n} ready again without a restart",
                       f"/readyz 200 {time.monotonic() - t0:.2f} s after PostgreSQL started"
                       if took is not None else f"/readyz {last['s']} 10 s after PostgreSQL started")
        statuses = [self.get(n, f"/v1/projects/{app_id}", key=self.admin)[0] for n in ("A", "B")]
        self.check(statuses == [200, 200], "outage: both read the database and authenticate again",
                   f"GET project with the admin key: {statuses}")
        # Their change feeds came back too (a watcher that lost its LISTEN must listen again).
        self.converge("B", "A", app_id, cert3, token3,
                      lambda d: d["verdict"] == "joinable", "outage: propagate B to A afterwards")
        self.converge("A", "B", app_id, cert3, token3,
                      lambda d: d["verdict"] == "joinable", "outage: propagate A to B afterwards")

    def log_once(self, app_id):
        want = set(self.answered)
        last = {}

        def complete():
            st, doc = self.get("B", f"/v1/projects/{app_id}/diagnoses?limit=1000", key=self.admin)
            last["s"] = st
            if st != 200:
                return False
            uids = [d["uid"] for d in doc["diagnoses"]]
            last["uids"] = uids
            return want <= {int(u) for u in uids if u is not None}

        # B's GET flushes B's queue; a batch that failed during the outage is retried by the
        # log writer on its own (once a second), so give it a few seconds.
        self.wait_for(complete, 5.0)
        if last.get("s") != 200:
            self.check(False, "log-once", f"GET .../diagnoses answered {last.get('s')}")
            return
        uids = [int(u) for u in last["uids"] if u is not None]
        if len(uids) >= 1000:
            self.check(False, "log-once", "1000 or more entries: the test must use fewer diagnoses")
            return
        counts = {}
        for u in uids:
            counts[u] = counts.get(u, 0) + 1
        missing = sorted(u for u in want if u not in counts)
        twice = sorted(u for u, c in counts.items() if c > 1)
        extra = sorted(u for u in counts if u not in want)
        rst, ready = self.get("B", "/readyz")
        drops = f"/readyz {rst}: {(ready or {}).get('diagnosis_log') or ready}"
        by_phase = {}
        for u in missing:
            by_phase[self.answered[u]] = by_phase.get(self.answered[u], 0) + 1
        self.check(not missing and not twice, "log-once",
                   f"{len(want)} diagnoses answered 200, {len(uids)} log entries; "
                   f"missing {len(missing)} {missing[:5]} (by phase: {by_phase}), "
                   f"more than once {len(twice)} {twice[:5]}, "
                   f"logged but not answered 200 {len(extra)}; B's {drops}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build")
    ap.add_argument("--db", required=True, help="postgresql://... or a SQLite path")
    ap.add_argument("--pg-dir", help="the tests/pg/pg.sh directory of the server: the outage check")
    args = ap.parse_args()
    f = Fleet(args)
    rc = 1
    try:
        rc = f.run()
    finally:
        f.stop_all()
        if f.pg_down:
            subprocess.run([f.pg_sh, "resume", f.pg_dir], capture_output=True, timeout=90)
        if rc == 0:
            subprocess.run(["rm", "-rf", f.tmp])
        else:
            print(f"fleet: the nodes' output is kept in {f.tmp}", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
