#!/usr/bin/env python3
"""SMTP sink for the integration tests: a real SMTP server (aiosmtpd) on loopback that
writes every message it accepts to DIR/<n>.eml, exactly as received in DATA.

Recipients whose local part says so get a fixed answer, to test how failures are sorted:
  refuse@…  → 550 5.1.1 at RCPT (permanent)
  later@…   → 451 4.3.0 at RCPT (temporary)

Usage: smtp_sink.py --dir DIR [--port N] [--port-file FILE] [--exit-on-stdin-eof]
The port (0 = any free one) is printed on stdout, and written to --port-file, once the
server listens. With --exit-on-stdin-eof the sink stops when its parent closes stdin
(dies), so a test that started it never leaves it behind.
"""

import argparse
import asyncio
import os
import sys
import threading

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, directory):
        self.directory = directory
        existing = [
            int(name[:-4])
            for name in os.listdir(directory)
            if name.endswith(".eml") and name[:-4].isdigit()
        ]
        self.next = max(existing, default=0) + 1

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local == "refuse":
            return "550 5.1.1 Mailbox unavailable"
        if local == "later":
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        n = self.next
        self.next += 1
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8")
        path = os.path.join(self.directory, f"{n}.eml")
        partial = os.path.join(self.directory, f".{n}.eml.part")
        with open(partial, "wb") as f:
            f.write(data)
        os.replace(partial, path)  # readers never see half a message
        return "250 Message accepted for delivery"


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--exit-on-stdin-eof", action="store_true")
    args = parser.parse_args()

    os.makedirs(args.dir, exist_ok=True)
    sink = Sink(args.dir)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(sink, hostname="cohorte-test-sink"), host="127.0.0.1", port=args.port
    )
    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        with open(args.port_file + ".part", "w") as f:
            f.write(f"{port}\n")
        os.replace(args.port_file + ".part", args.port_file)
    print(port, flush=True)

    if args.exit_on_stdin_eof:
        def watch():
            sys.stdin.read()
            os._exit(0)

        threading.Thread(target=watch, daemon=True).start()

    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
