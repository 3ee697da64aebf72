#!/usr/bin/env python3
"""Email throughput (scripts/bench mail, issue #18): what Cohorte's dispatcher sends per
second, with one and with two `cohorte dispatch` processes, against what the same SMTP
server takes at all from a plain client, in the same run.

Against the SMTP sink already running on 127.0.0.1 (scripts/smtp_sink.py, started by
scripts/bench), for each round:

  raw    Python's smtplib pushes N copies of one of the dispatcher's own messages over one
         connection (MAIL, RCPT, DATA with the final dot in the same write; no RSET), to N
         addresses: the server's rate, the ceiling;
  one    a fresh SQLite file gets N due emails (`cohorte bench-mail`), then one
         `cohorte dispatch --once` sends them: its pass's own time ("Durée du passage"),
         without the process's start-up;
  two    the same with two `cohorte dispatch --once` processes started together on one
         file: from the first pass's start to the last one's end.

Each rate is N / time; the table gives the median over the rounds, and the ratios to raw.
The target (issue #18): one dispatcher at 50 % of raw or more. Every run checks that the
sink received the N messages. Python standard library only; nothing leaves loopback.

Usage: bench_mail.py --binary target/release/cohorte --port P --sink-dir DIR
                     [--emails 2000] [--rounds 3] [--results-dir target/bench/results]
"""

import argparse
import json
import os
import re
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time

NOW = "2027-02-01T08:00:00Z"
TARGET = 0.5


def count_eml(directory):
    return sum(1 for name in os.listdir(directory) if name.endswith(".eml"))


def wait_for(directory, expected, what, timeout=60):
    deadline = time.monotonic() + timeout
    while count_eml(directory) < expected:
        if time.monotonic() > deadline:
            sys.exit(f"{what}: the sink got {count_eml(directory)} of {expected} messages")
        time.sleep(0.05)


def cohorte_env(db, port):
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith("COHORTE_") or k in ("DATABASE_URL", "RUST_LOG"))
    }
    env.update(
        {
            "DATABASE_URL": db,
            "COHORTE_SMTP_URL": f"smtp://127.0.0.1:{port}",
            "RUST_LOG": "warn",
            "NO_COLOR": "1",
        }
    )
    return env


def queue(binary, db, port, n, domain):
    out = subprocess.run(
        [binary, "bench-mail", "--emails", str(n), "--domain", domain, "--now", NOW],
        env=cohorte_env(db, port),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if f"{n} e-mail(s)" not in out:
        sys.exit(f"bench-mail did not queue {n} emails: {out}")


SENT = re.compile(r"(\d+) envoyé\(s\)")
PASS = re.compile(r"Durée du passage : (\d+) ms")


def dispatchers(binary, db, port, count):
    """Starts `count` dispatch processes together; returns (sent, seconds from the first
    pass's start to the last one's end)."""
    env = cohorte_env(db, port)
    procs = [
        subprocess.Popen(
            [binary, "dispatch", "--once", "--now", NOW],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    ends = [None] * count
    outputs = [None] * count

    def wait(i):
        out, err = procs[i].communicate()
        ends[i] = time.monotonic()
        outputs[i] = (out, err)

    threads = [threading.Thread(target=wait, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sent = 0
    starts = []
    for i, (out, err) in enumerate(outputs):
        if procs[i].returncode != 0:
            sys.exit(f"cohorte dispatch failed:\n{out}\n{err}")
        sent += int(SENT.search(out).group(1))
        starts.append(ends[i] - int(PASS.search(out).group(1)) / 1000)
    return sent, max(ends) - min(starts)


def raw(port, message, n, domain):
    """N copies of `message` over one connection, as a plain client sends them."""
    started = time.monotonic()
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.ehlo("bench")
        for i in range(n):
            client.sendmail("cohorte@localhost", [f"raw{i}@{domain}"], message)
    return time.monotonic() - started


def one_message(directory):
    """The newest message the sink holds (one the dispatcher just sent)."""
    names = [n for n in os.listdir(directory) if n.endswith(".eml")]
    newest = max(names, key=lambda n: int(n[:-4]) if n[:-4].isdigit() else -1)
    with open(os.path.join(directory, newest), "rb") as f:
        return f.read()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sink-dir", required=True)
    parser.add_argument("--emails", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--results-dir")
    args = parser.parse_args()
    n = args.emails

    # A first small pass gives the message the raw client repeats: the dispatcher's own.
    work = tempfile.mkdtemp(prefix="cohorte-bench-mail-")
    db = os.path.join(work, "warmup.sqlite3")
    before = count_eml(args.sink_dir)
    queue(args.binary, db, args.port, 1, "warmup.example")
    dispatchers(args.binary, db, args.port, 1)
    wait_for(args.sink_dir, before + 1, "warm-up")
    message = one_message(args.sink_dir)

    rates = {"raw": [], "one": [], "two": []}
    for r in range(1, args.rounds + 1):
        print(f"round {r}/{args.rounds}…", file=sys.stderr)
        before = count_eml(args.sink_dir)
        rates["raw"].append(n / raw(args.port, message, n, f"raw{r}.example"))
        wait_for(args.sink_dir, before + n, "raw")
        for label, count in (("one", 1), ("two", 2)):
            db = os.path.join(work, f"{label}-{r}.sqlite3")
            queue(args.binary, db, args.port, n, f"{label}{r}.example")
            before = count_eml(args.sink_dir)
            sent, seconds = dispatchers(args.binary, db, args.port, count)
            if sent != n:
                sys.exit(f"{label}: {sent} of {n} emails sent")
            wait_for(args.sink_dir, before + n, label)
            rates[label].append(n / seconds)

    median = {k: statistics.median(v) for k, v in rates.items()}
    print()
    print(
        f"Email throughput: {n} emails of {len(message):,} bytes to the SMTP sink on "
        f"127.0.0.1:{args.port}, median of {args.rounds} round(s)"
    )
    print()
    print("| sender | emails/s | ms/email | of raw |")
    print("| --- | ---: | ---: | ---: |")
    labels = {
        "raw": "raw: smtplib, one connection",
        "one": "one `cohorte dispatch`",
        "two": "two `cohorte dispatch` together",
    }
    for key in ("raw", "one", "two"):
        rate = median[key]
        print(
            f"| {labels[key]} | {rate:,.0f} | {1000 / rate:.2f} | "
            f"{rate / median['raw']:.2f} |"
        )
    ratio = median["one"] / median["raw"]
    verdict = "MET" if ratio >= TARGET else "NOT MET"
    print()
    print(f"Target: one dispatcher ≥ {TARGET:.0%} of raw over one connection: {verdict} ({ratio:.0%})")
    if args.results_dir:
        folder = os.path.join(args.results_dir, time.strftime("%Y%m%dT%H%M%S") + "-mail")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "results.json"), "w") as f:
            json.dump(
                {"emails": n, "rounds": args.rounds, "bytes": len(message), "rates": rates,
                 "median": median, "target": TARGET, "met": ratio >= TARGET},
                f,
                indent=2,
            )
        print(f"Results kept in {folder}/results.json")


if __name__ == "__main__":
    main()
