#!/usr/bin/env python3
"""SMTP sink for the integration tests: a real SMTP server (aiosmtpd) on loopback that
writes every message it accepts to DIR/<n>.eml, exactly as received in DATA.

Recipients whose local part says so get a fixed answer, to test how failures are sorted:
  refuse@…  → 550 5.1.1 at RCPT (permanent)
  later@…   → 451 4.3.0 at RCPT (temporary)

and some play a fault once, to test how the dispatcher recovers (tests/faults.rs). "The
first time" is per exact address (lower-cased) and per sink process: tests send to a
random domain of their own, so each test sees the fault once whatever ran before.
  once421@… → the first time: 421 4.7.0 at RCPT, then the sink closes the connection (a
              server going down for maintenance); accepted afterwards.
  once451@… → the first time: 451 4.3.0 at RCPT, the connection staying open (a greylisting
              or overloaded server); accepted afterwards.
  drop@…    → the first time: the whole message is received, then the connection is
              closed abruptly during DATA, before any reply, and the message is NOT
              kept (a server or network that died before committing it); accepted
              afterwards.
  slow@…    → every time: the message is kept as soon as DATA ends, then the reply (250)
              comes only after --slow-secs seconds (5 by default), other connections
              being served meanwhile. A client killed while it waits has delivered the
              message without knowing it: what a crashed dispatcher leaves behind.
  close@…   → every time: the message is kept and accepted (250), then the sink closes the
              connection, as a server does on an idle connection or after its limit of
              emails per connection: a client that keeps connections finds out at its next
              command.
  slowN@…   → the same, with a reply N seconds after the final dot (N a whole or decimal
              number: slow35@ = 35 s, slow0.5@ = half a second), so that each test picks
              the relay's delay: slow35@ is a relay slower than lettre's old 30 s timeout
              yet well within RFC 5321's 10 minutes; with a client timeout shorter than N,
              the message is kept but the client never learns it (an unknown outcome).

Beside each DIR/<n>.eml the sink writes DIR/<n>.peer, the client's address and port
("127.0.0.1:41234", written first): messages sent over one connection share it.

With --events FILE the sink also appends one line per answer it gives to a recipient or a
message, so that a test can tell when each attempt came and from whom (tests/scale_out.rs):
the Unix time in seconds, the answer ("250" kept, "421", "451", "550", or "drop"), the
address, and the sink's port the client connected to, e.g.
"1767225600.123456 451 once451@a.example 41234". With --listen N (and --port 0) the one
sink listens on N free ports, so that a test can tell its clients apart by the port each
is given; the faults played once stay once for all of them.

Usage: smtp_sink.py --dir DIR [--port N | --listen N] [--port-file FILE] [--slow-secs S]
                    [--events FILE] [--exit-on-stdin-eof]
The port (0 = any free one; with --listen, the ports, separated by spaces) is printed on
stdout, and written to --port-file, once the server listens. With --exit-on-stdin-eof the sink stops when its parent closes stdin
(dies), so a test that started it never leaves it behind.
"""

import argparse
import asyncio
import os
import re
import sys
import threading
import time

from aiosmtpd.smtp import SMTP


# slow@ (the --slow-secs delay) or slowN@ (N seconds, N whole or decimal).
SLOW = re.compile(r"slow(\d+(?:\.\d+)?)?")


class Sink:
    def __init__(self, directory, slow_secs, events=None):
        self.directory = directory
        self.slow_secs = slow_secs
        # Line-buffered: a reader sees each event as soon as it is written.
        self.events = open(events, "a", buffering=1) if events else None
        existing = [
            int(name[:-4])
            for name in os.listdir(directory)
            if name.endswith(".eml") and name[:-4].isdigit()
        ]
        self.next = max(existing, default=0) + 1
        # Addresses whose one-time fault (once421@, drop@) has been played.
        self.faulted = set()

    def first_time(self, address):
        """True the first time this exact address asks for its fault."""
        address = address.lower()
        if address in self.faulted:
            return False
        self.faulted.add(address)
        return True

    def event(self, server, answer, addresses):
        if self.events:
            now = time.time()
            sockname = server.transport.get_extra_info("sockname") if server.transport else None
            port = sockname[1] if sockname else 0
            for address in addresses:
                self.events.write(f"{now:.6f} {answer} {address.lower()} {port}\n")

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local == "refuse":
            self.event(server, "550", [address])
            return "550 5.1.1 Mailbox unavailable"
        if local == "later":
            self.event(server, "451", [address])
            return "451 4.3.0 Try again later"
        if local == "once421" and self.first_time(address):
            # 421 means "closing the channel": the reply is flushed, then the connection
            # is closed (close() writes what is buffered first).
            self.event(server, "421", [address])
            server.loop.call_soon(server.transport.close)
            return "421 4.7.0 cohorte-test-sink: service not available, closing channel"
        if local == "once451" and self.first_time(address):
            self.event(server, "451", [address])
            return "451 4.3.0 cohorte-test-sink: try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        locals_ = {address.split("@", 1)[0].lower() for address in envelope.rcpt_tos}
        if "drop" in locals_:
            drop = [a for a in envelope.rcpt_tos if a.split("@", 1)[0].lower() == "drop"]
            if any([self.first_time(a) for a in drop]):
                # No reply: the socket is torn down at once, which makes aiosmtpd cancel
                # this handler (connection_lost) while it waits below.
                self.event(server, "drop", envelope.rcpt_tos)
                server.transport.abort()
                await asyncio.sleep(60)
                return "451 4.3.0 not reached: the connection is gone"
        self.keep(envelope, session.peer)
        self.event(server, "250", envelope.rcpt_tos)
        delay = max((self.delay_of(local) for local in locals_), default=0)
        if delay > 0:
            # Kept above; a client killed, or timed out, during this pause never learns it.
            await asyncio.sleep(delay)
        if "close" in locals_:
            # Runs after the reply is written (close() flushes what is buffered first).
            server.loop.call_soon(server.transport.close)
        return "250 Message accepted for delivery"

    def delay_of(self, local):
        """Seconds a slow@ / slowN@ recipient makes the reply to the final dot wait."""
        match = SLOW.fullmatch(local)
        if not match:
            return 0
        return float(match.group(1)) if match.group(1) else self.slow_secs

    def keep(self, envelope, peer):
        n = self.next
        self.next += 1
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8")
        host, port = peer[0], peer[1]
        with open(os.path.join(self.directory, f"{n}.peer"), "w") as f:
            f.write(f"{host}:{port}\n")
        path = os.path.join(self.directory, f"{n}.eml")
        partial = os.path.join(self.directory, f".{n}.eml.part")
        with open(partial, "wb") as f:
            f.write(data)
        os.replace(partial, path)  # readers never see half a message


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--listen", type=int, default=1)
    parser.add_argument("--port-file")
    parser.add_argument("--slow-secs", type=float, default=5.0)
    parser.add_argument("--events")
    parser.add_argument("--exit-on-stdin-eof", action="store_true")
    args = parser.parse_args()

    os.makedirs(args.dir, exist_ok=True)
    sink = Sink(args.dir, args.slow_secs, args.events)
    loop = asyncio.get_running_loop()
    if args.listen > 1 and args.port != 0:
        parser.error("--listen takes free ports: leave --port out")
    servers = [
        await loop.create_server(
            lambda: SMTP(sink, hostname="cohorte-test-sink"), host="127.0.0.1", port=args.port
        )
        for _ in range(max(args.listen, 1))
    ]
    ports = " ".join(str(s.sockets[0].getsockname()[1]) for s in servers)
    if args.port_file:
        with open(args.port_file + ".part", "w") as f:
            f.write(f"{ports}\n")
        os.replace(args.port_file + ".part", args.port_file)
    print(ports, flush=True)

    if args.exit_on_stdin_eof:
        def watch():
            sys.stdin.read()
            os._exit(0)

        threading.Thread(target=watch, daemon=True).start()

    # create_server has started them: serve until killed.
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
