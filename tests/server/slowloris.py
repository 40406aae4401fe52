#!/usr/bin/env python3
"""slowloris.py -- the slow-client attack of issue 15, repeatable, against a running service.

One process (the attacker) holds up to --conns connections from --src (default 127.0.0.2: all
of 127/8 is loopback), each sending the head of a request one byte every --interval seconds,
and reopens every connection the service closes. Another process (the probe) opens a new
connection from --probe-src every --probe-every seconds and asks GET /healthz. The run fails
(exit 1) when a probe is not answered 200 within --budget-ms, and prints what it saw:

    tests/server/slowloris.py --port 8080 --conns 5000 --duration 30

Standard library only. The attacker needs --conns descriptors: it raises its own soft limit to
the hard one (ulimit -Hn), and says so when that is too low.

Measured on 2026-12-06, release build, default limits, 2 threads on a 2-core machine shared with
other builds (load average 3-4), --conns 5000 --duration 30:
  before (bc38244): every connection held for the whole run (0 closed); probes answered (worst
    12 ms: 5,000 connections are not yet 20,000, where descriptors ran out).
  after: 256 connections held (the per-client cap), the others closed at accept (~2,200 a
    second as the attacker reopens them), the held ones cut every 10 s (--request-timeout);
    586 probes, none failed, worst 8-45 ms, p99 6-10 ms over four runs.
The ctest suite server_edge_slow is the short version (300 connections, a few seconds).
"""
import argparse
import errno
import json
import multiprocessing
import os
import resource
import selectors
import socket
import sys
import time

HEAD = b"POST /v1/diagnose HTTP/1.1\r\nHost: attack\r\nContent-Type: application/json\r\n"


def open_conn(port, src):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.bind((src, 0))
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    return s


def attacker(args, stop_at, result):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < args.conns + 64:
        print(f"slowloris: only {hard} descriptors (ulimit -Hn); fewer connections", file=sys.stderr)
    want = min(args.conns, hard - 64)
    conns = {}  # socket -> bytes of HEAD sent so far
    opened = closed = 0
    held_max = 0
    while time.monotonic() < stop_at:
        while len(conns) < want:
            try:
                conns[open_conn(args.port, args.src)] = 0
                opened += 1
            except OSError as e:
                if e.errno in (errno.EMFILE, errno.EADDRNOTAVAIL, errno.ENFILE):
                    break
                raise
        round_end = time.monotonic() + args.interval
        alive = 0
        for s in list(conns):
            sent = conns[s]
            # one byte of the head, then "X-a: b" header lines a byte at a time, forever
            byte = HEAD[sent:sent + 1] if sent < len(HEAD) else b"X-a: b\r\n"[(sent - len(HEAD)) % 8:][:1]
            try:
                if s.send(byte) == 1:
                    conns[s] = sent + 1
                alive += 1
            except (BlockingIOError, InterruptedError):
                alive += 1
            except OSError:
                s.close()
                del conns[s]
                closed += 1
        held_max = max(held_max, alive)
        time.sleep(max(0.0, round_end - time.monotonic()))
    for s in conns:
        s.close()
    result.put({"opened": opened, "closed_by_service": closed, "held_max": held_max})


def probe(args, stop_at):
    worst = 0.0
    slow = failed = n = 0
    lat = []
    while time.monotonic() < stop_at:
        t0 = time.monotonic()
        ok = False
        try:
            s = socket.socket()
            s.settimeout(5)
            s.bind((args.probe_src, 0))
            s.connect(("127.0.0.1", args.port))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
            reply = b""
            while True:
                b = s.recv(4096)
                if not b:
                    break
                reply += b
            s.close()
            ok = reply.startswith(b"HTTP/1.1 200")
        except OSError:
            ok = False
        ms = (time.monotonic() - t0) * 1000
        n += 1
        lat.append(ms)
        worst = max(worst, ms)
        if not ok:
            failed += 1
        elif ms > args.budget_ms:
            slow += 1
        time.sleep(args.probe_every)
    lat.sort()
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else 0.0
    return {"probes": n, "failed": failed, "over_budget": slow, "worst_ms": round(worst, 2),
            "p99_ms": round(p99, 2)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--conns", type=int, default=5000)
    ap.add_argument("--duration", type=float, default=30)
    ap.add_argument("--interval", type=float, default=1.0, help="seconds between two bytes")
    ap.add_argument("--src", default="127.0.0.2")
    ap.add_argument("--probe-src", default="127.0.0.1")
    ap.add_argument("--probe-every", type=float, default=0.05)
    ap.add_argument("--budget-ms", type=float, default=100)
    ap.add_argument("--warmup", type=float, default=2.0, help="seconds of attack before probing")
    args = ap.parse_args()
    start = time.monotonic()
    stop_at = start + args.warmup + args.duration
    result = multiprocessing.Queue()
    att = multiprocessing.Process(target=attacker, args=(args, stop_at, result))
    att.start()
    time.sleep(args.warmup)
    seen = probe(args, stop_at)
    seen.update(result.get(timeout=args.duration + 60))
    att.join()
    seen["conns"] = args.conns
    seen["duration_s"] = args.duration
    seen["budget_ms"] = args.budget_ms
    print(json.dumps(seen))
    return 0 if seen["failed"] == 0 and seen["over_budget"] == 0 and seen["probes"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
