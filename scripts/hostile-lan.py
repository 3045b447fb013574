#!/usr/bin/env python3
"""Plays a hostile LAN host against a lanmeet node on loopback, and measures.

    lanmeet host --no-open --no-discovery --json --lan-bind 127.0.0.1 --lan-port 0 &
    scripts/hostile-lan.py idle      --local 127.0.0.1:L --lan 127.0.0.1:P --count 1100
    scripts/hostile-lan.py slowloris --local ... --lan ... --count 200
    scripts/hostile-lan.py unjoined  --local ... --lan ... --count 300
    scripts/hostile-lan.py pings     --local ... --lan ... --seconds 5 --pid PID
    scripts/hostile-lan.py bytes     --local ... --lan ... --seconds 5
    scripts/hostile-lan.py body      --local ... --lan ... --hold 60
    scripts/hostile-lan.py requests  --local ... --lan ... --count 16 --seconds 10 --pid PID

With a data directory (`lanmeet host ... --data-dir DIR`) the LAN port also speaks TLS
for browser guests; then:

    scripts/hostile-lan.py idle       --local ... --lan ... --count 200 --tls-stall
    scripts/hostile-lan.py handshakes --local ... --lan ... --count 8 --seconds 10 --pid PID

Every attack comes from 127.0.0.0/8 (several source addresses stand for several
hosts) and goes only to 127.0.0.0/8: the script refuses any other target. Python's
standard library only; bounded in count and time.
"""

import argparse
import asyncio
import base64
import json
import os
import ssl
import statistics
import struct
import sys
import time


def loopback(addr):
    host, port = addr.rsplit(":", 1)
    if not host.startswith("127."):
        sys.exit(f"refusing {addr}: this tool talks to 127.0.0.0/8 only")
    return host, int(port)


async def connect(target, source_host, timeout=5):
    host, port = target
    return await asyncio.wait_for(
        asyncio.open_connection(host, port, local_addr=(source_host, 0)), timeout
    )


def source(n):
    """The n-th attacking address, 127.0.0.2 upwards (127.0.0.1 is the person)."""
    n += 2
    return f"127.0.{n // 250}.{n % 250 + 1}"


async def http(target, method, path, body=b"", source_host="127.0.0.1", timeout=5):
    """One request with Connection: close; (status, body) or None."""
    try:
        reader, writer = await connect(target, source_host, timeout)
    except (OSError, asyncio.TimeoutError):
        return None
    host = f"{target[0]}:{target[1]}"
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    writer.write(head.encode() + b"\r\n" + body)
    try:
        raw = await asyncio.wait_for(reader.read(), timeout)
    except (OSError, asyncio.TimeoutError):
        raw = b""
    writer.close()
    if not raw.startswith(b"HTTP/1.1 "):
        return None
    status = int(raw.split(b" ", 2)[1])
    return status, raw.split(b"\r\n\r\n", 1)[-1]


async def timed_health(target, source_host="127.0.0.1"):
    start = time.monotonic()
    answer = await http(target, "GET", "/api/health", source_host=source_host)
    ms = (time.monotonic() - start) * 1000
    return (answer[0] if answer else None), ms


async def create_room(local):
    answer = await http(local, "POST", "/api/rooms", b"{}")
    if not answer or answer[0] != 201:
        sys.exit(f"could not create a room: {answer}")
    return json.loads(answer[1])["code"]


class Ws:
    """A minimal WebSocket client (text, ping, close; masked frames)."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer

    @staticmethod
    async def open(target, source_host="127.0.0.1"):
        """A Ws, or the HTTP status that refused the upgrade (0: no answer)."""
        try:
            reader, writer = await connect(target, source_host)
        except (OSError, asyncio.TimeoutError):
            return 0
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET /ws HTTP/1.1\r\nHost: {target[0]}:{target[1]}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            writer.close()
            return 0
        status = int(head.split(b" ", 2)[1])
        if status != 101:
            writer.close()
            return status
        return Ws(reader, writer)

    def frame(self, opcode, payload):
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        # A zero mask: the payload goes as it is.
        return head + b"\0\0\0\0" + payload

    def send_text(self, obj):
        self.writer.write(self.frame(1, json.dumps(obj).encode()))

    async def recv(self, timeout=5):
        """(opcode, payload) of the next frame; None on timeout or end."""
        try:
            b0, b1 = await asyncio.wait_for(self.reader.readexactly(2), timeout)
            n = b1 & 0x7F
            if n == 126:
                (n,) = struct.unpack("!H", await self.reader.readexactly(2))
            elif n == 127:
                (n,) = struct.unpack("!Q", await self.reader.readexactly(8))
            payload = await self.reader.readexactly(n)
            return b0 & 0x0F, payload
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            return None

    async def recv_json(self, timeout=5):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            got = await self.recv(max(left, 0.01))
            if got is None:
                return None
            opcode, payload = got
            if opcode == 1:
                return json.loads(payload)
            if opcode == 8:
                return {"type": "close", "payload": payload}

    async def join(self, room, name):
        self.send_text({"type": "join", "room": room, "name": name})
        await self.writer.drain()
        welcome = await self.recv_json()
        if not welcome or welcome.get("type") != "welcome":
            raise RuntimeError(f"join failed: {welcome}")
        self.id = welcome["id"]
        return welcome

    def close(self):
        self.writer.close()


async def local_ui_probe(local, room):
    """Health latency and a /ws join on the local listener, as the UI does."""
    status, ms = await timed_health(local)
    ws = await Ws.open(local)
    joined = False
    if isinstance(ws, Ws):
        try:
            await ws.join(room, "Local UI")
            joined = True
            ws.send_text({"type": "leave"})
            await ws.writer.drain()
            await ws.recv_json()
        except (RuntimeError, OSError):
            pass
        ws.close()
    return status, ms, joined


async def stats(local):
    answer = await http(local, "GET", "/api/stats")
    return json.loads(answer[1]) if answer and answer[0] == 200 else None


async def idle(args):
    """Connections that never send a byte, --per-source per source address."""
    room = await create_room(args.local)
    held, failed = [], 0
    opened = time.monotonic()
    junk = b"GET / HTTP/1.1\r\nX-Junk: " + b"j" * args.junk if args.junk else b""
    if args.tls_stall:
        # A TLS record header announcing a 512-byte ClientHello, and a few bytes of it.
        junk = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
    for n in range(args.count):
        try:
            conn = await connect(args.lan, source(n // args.per_source), timeout=2)
            if junk:
                conn[1].write(junk)
            held.append(conn)
        except (OSError, asyncio.TimeoutError):
            failed += 1
    print(f"opened {len(held)} idle connections to the LAN port ({failed} failed to connect)")
    await asyncio.sleep(0.5)
    print("node stats:", await stats(args.local))
    if args.pid:
        with open(f"/proc/{args.pid}/status") as f:
            rss = next(line for line in f if line.startswith("VmRSS"))
        print("node", " ".join(rss.split()))
    latencies, joins, lan_ok = [], 0, 0
    for _ in range(args.probes):
        status, ms, joined = await local_ui_probe(args.local, room)
        latencies.append(ms if status == 200 else float("inf"))
        joins += joined
        lan_status, _ = await timed_health(args.lan, source_host="127.0.99.1")
        lan_ok += lan_status == 200
        await asyncio.sleep(0.2)
    ok = [l for l in latencies if l != float("inf")]
    print(
        f"local /api/health: {len(ok)}/{len(latencies)} answered, "
        f"median {statistics.median(ok) if ok else float('nan'):.1f} ms, "
        f"max {max(ok) if ok else float('nan'):.1f} ms; "
        f"local /ws joins {joins}/{args.probes}; "
        f"LAN health from a fresh address {lan_ok}/{args.probes}"
    )
    # How long the node keeps them (from the end of the opening burst).
    start = opened

    async def until_closed(reader):
        try:
            while await reader.read(1024):
                pass
        except OSError:
            pass
        return time.monotonic() - start

    waits = [asyncio.ensure_future(until_closed(r)) for r, _ in held]
    left = max(args.hold - (time.monotonic() - start), 0.1)
    done, pending = await asyncio.wait(waits, timeout=left) if waits else (set(), set())
    lasted = [t.result() for t in done]
    print(
        f"the node closed {len(lasted)} of {len(held)} idle connections "
        f"(median {statistics.median(lasted) if lasted else float('nan'):.1f} s, "
        f"max {max(lasted) if lasted else float('nan'):.1f} s after the flood began); "
        f"{len(pending)} still open after {args.hold:.0f} s"
    )
    for t in pending:
        t.cancel()
    for _, writer in held:
        writer.close()


async def slow_headers(target, source_host, hold):
    """Seconds until the node closed the connection, None if it never did."""
    start = time.monotonic()
    try:
        reader, writer = await connect(target, source_host, timeout=2)
    except (OSError, asyncio.TimeoutError):
        return None
    writer.write(b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    closed = False
    while not closed and time.monotonic() - start < hold:
        try:
            writer.write(b"a")
            await writer.drain()
            closed = not await asyncio.wait_for(reader.read(1024), 2)
        except asyncio.TimeoutError:
            pass
        except OSError:
            closed = True
    writer.close()
    return time.monotonic() - start if closed else None


async def slowloris(args):
    """One header byte every 2 s per connection; how long each is kept."""
    results = await asyncio.gather(
        *(slow_headers(args.lan, source(n // args.per_source), args.hold) for n in range(args.count))
    )
    lasted = [r for r in results if r is not None]
    print(
        f"{len(lasted)} of {len(results)} slowloris connections closed by the node; "
        f"kept median {statistics.median(lasted) if lasted else float('nan'):.1f} s, "
        f"max {max(lasted) if lasted else float('nan'):.1f} s; "
        f"{len(results) - len(lasted)} still open after {args.hold:.0f} s"
    )


async def handshakes(args):
    """Complete TLS handshakes (then close) in --count loops from one address."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    done, failed = 0, 0
    stop = time.monotonic() + args.seconds
    cpu_before = cpu_seconds(args.pid) if args.pid else None

    async def loop():
        nonlocal done, failed
        while time.monotonic() < stop:
            try:
                _, writer = await asyncio.wait_for(
                    asyncio.open_connection(
                        args.lan[0], args.lan[1], ssl=ctx, server_hostname="lanmeet",
                        local_addr=("127.0.0.2", 0),
                    ),
                    5,
                )
                done += 1
                writer.close()
            except (OSError, asyncio.TimeoutError, ssl.SSLError):
                failed += 1

    started = time.monotonic()
    await asyncio.gather(*(loop() for _ in range(args.count)))
    took = time.monotonic() - started
    cpu = ""
    if cpu_before is not None:
        cpu = f", node CPU {100 * (cpu_seconds(args.pid) - cpu_before) / took:.0f}% of a core"
    print(f"{done} TLS handshakes in {took:.1f} s ({done / took:.0f}/s, {failed} failed){cpu}")
    room = await create_room(args.local)
    status, ms, joined = await local_ui_probe(args.local, room)
    print(f"right after: local /api/health {status} in {ms:.1f} ms, local join {'ok' if joined else 'failed'}")


async def unjoined(args):
    """Upgrades to /ws from one address that never join."""
    room = await create_room(args.local)
    socks, refused = [], {}
    for _ in range(args.count):
        ws = await Ws.open(args.lan, source_host="127.0.0.2")
        if isinstance(ws, Ws):
            socks.append(ws)
        else:
            refused[ws] = refused.get(ws, 0) + 1
    print(f"from one address: {len(socks)} upgrades held, refused {refused}")
    other = await Ws.open(args.lan, source_host="127.0.0.3")
    if isinstance(other, Ws):
        await other.join(room, "Other host")
        print("another host joins: yes")
        other.close()
    else:
        print(f"another host joins: no ({other})")
    status, ms, joined = await local_ui_probe(args.local, room)
    print(f"local UI: health {status} in {ms:.1f} ms, /ws join {'yes' if joined else 'no'}")
    for ws in socks:
        ws.close()


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def pings(args):
    """One joined socket sends pings as fast as it can."""
    room = await create_room(args.local)
    ws = await Ws.open(args.lan, source_host="127.0.0.2")
    await ws.join(room, "Pinger")
    ping = ws.frame(9, b"x" * 16)
    pongs = 0
    rate_limited = 0

    async def read():
        nonlocal pongs, rate_limited
        while True:
            got = await ws.recv(timeout=args.seconds + 5)
            if got is None:
                return
            if got[0] == 10:
                pongs += 1
            elif got[0] == 9:
                ws.writer.write(ws.frame(10, got[1]))
            elif got[0] == 1 and b"rate-limited" in got[1]:
                rate_limited += 1
            elif got[0] == 8:
                code = struct.unpack("!H", got[1][:2])[0] if len(got[1]) >= 2 else None
                print(f"closed by the node: {code} {got[1][2:].decode(errors='replace')}")
                return
            elif got[0] == 1:
                print("node says:", got[1].decode(errors="replace"))

    reader = asyncio.ensure_future(read())
    cpu0 = cpu_seconds(args.pid) if args.pid else None
    start = time.monotonic()
    sent = 0
    while time.monotonic() - start < args.seconds:
        ws.writer.write(ping * 256)
        sent += 256
        try:
            # The node may stop reading (it pauses a socket that floods pings).
            left = args.seconds - (time.monotonic() - start)
            await asyncio.wait_for(ws.writer.drain(), max(left, 0.01))
        except asyncio.TimeoutError:
            break
    elapsed = time.monotonic() - start
    cpu = (cpu_seconds(args.pid) - cpu0) / elapsed * 100 if args.pid else float("nan")
    await asyncio.sleep(0.5)
    reader.cancel()
    print(
        f"pings sent {sent} in {elapsed:.1f} s ({sent / elapsed:.0f}/s); pongs received {pongs} "
        f"({pongs / elapsed:.0f}/s); rate-limited notices {rate_limited}; node CPU {cpu:.0f} %"
    )
    ws.close()


async def bytes_flood(args):
    """A member pushes 60 KB signals at another as fast as it can."""
    room = await create_room(args.local)
    a = await Ws.open(args.lan, source_host="127.0.0.2")
    b = await Ws.open(args.lan, source_host="127.0.0.3")
    await a.join(room, "Pusher")
    await b.join(room, "Target")
    pad = "p" * (60 * 1024)
    received = 0

    async def read():
        nonlocal received
        while True:
            got = await b.recv(timeout=args.seconds + 5)
            if got is None:
                return
            if got[0] == 1 and got[1].startswith(b'{"type":"signal"'):
                received += len(got[1])

    reader = asyncio.ensure_future(read())
    start = time.monotonic()
    sent = 0
    while time.monotonic() - start < args.seconds:
        a.send_text({"type": "signal", "to": b.id, "data": pad})
        sent += len(pad)
        await a.writer.drain()
    elapsed = time.monotonic() - start
    await asyncio.sleep(0.5)
    reader.cancel()
    print(
        f"pushed {sent / elapsed / 1e6:.1f} MB/s for {elapsed:.1f} s; "
        f"the target received {received / elapsed / 1e3:.0f} KB/s"
    )
    a.close()
    b.close()


async def slow_body(target, method, path, hold):
    """A request whose body comes one byte a second: (seconds kept, first answer line)."""
    start = time.monotonic()
    reader, writer = await connect(target, "127.0.0.2")
    host = f"{target[0]}:{target[1]}"
    writer.write(
        f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: 10000\r\n\r\n{{".encode()
    )
    first = b""
    while time.monotonic() - start < hold:
        try:
            writer.write(b" ")
            await writer.drain()
            data = await asyncio.wait_for(reader.read(4096), 1)
            if not data:
                break
            first = first or data.split(b"\r\n", 1)[0]
        except asyncio.TimeoutError:
            continue
        except OSError:
            break
    else:
        writer.close()
        return None, first
    writer.close()
    return time.monotonic() - start, first


async def body(args):
    """Bodies sent a byte a second, to the LAN and the local listener."""
    for name, target, method, path in [
        ("LAN GET /api/health", args.lan, "GET", "/api/health"),
        ("local POST /api/rooms", args.local, "POST", "/api/rooms"),
    ]:
        kept, first = await slow_body(target, method, path, args.hold)
        kept = f"closed after {kept:.1f} s" if kept is not None else f"still open after {args.hold:.0f} s"
        print(f"{name} with a trickled body: {kept}; answered {first.decode(errors='replace') or 'nothing'}")


async def requests(args):
    """Health requests as fast as one address can pipeline them, while two members
    on other addresses time signal round trips and the local UI its health."""
    room = await create_room(args.local)
    a = await Ws.open(args.lan, source_host="127.0.0.3")
    b = await Ws.open(args.lan, source_host="127.0.0.4")
    await a.join(room, "A")
    await b.join(room, "B")
    host = f"{args.lan[0]}:{args.lan[1]}"
    request = f"GET /api/health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    answered = refused = connections = 0
    stop = time.monotonic() + args.seconds

    async def flood():
        # A connection the node closes (it answers 429 past an address's budget) is
        # made again at once, for as long as the attack lasts.
        nonlocal answered, refused, connections
        while time.monotonic() < stop:
            try:
                reader, writer = await connect(args.lan, "127.0.0.2")
            except OSError:
                await asyncio.sleep(0.01)
                continue
            connections += 1
            while time.monotonic() < stop:
                writer.write(request * 64)
                try:
                    await asyncio.wait_for(writer.drain(), 1)
                    data = await asyncio.wait_for(reader.read(1 << 16), 1)
                except (asyncio.TimeoutError, OSError):
                    break
                if not data:
                    break
                answered += data.count(b"HTTP/1.1 200")
                refused += data.count(b"HTTP/1.1 429")
            writer.close()

    async def measure():
        rtts, health = [], []
        while time.monotonic() < stop:
            t = time.monotonic()
            a.send_text({"type": "signal", "to": b.id, "data": t})
            await a.writer.drain()
            got = await b.recv_json(timeout=5)
            if got and got.get("type") == "signal":
                rtts.append((time.monotonic() - t) * 1000)
            status, ms = await timed_health(args.local)
            if status == 200:
                health.append(ms)
            await asyncio.sleep(0.1)
        return rtts, health

    cpu0 = cpu_seconds(args.pid) if args.pid else None
    start = time.monotonic()
    results = await asyncio.gather(measure(), *(flood() for _ in range(args.count)))
    elapsed = time.monotonic() - start
    cpu = (cpu_seconds(args.pid) - cpu0) / elapsed * 100 if args.pid else float("nan")
    rtts, health = results[0]
    if not rtts or not health:
        sys.exit("no signal or health answer came back")
    print(
        f"{args.count} connections at a time from one address ({connections} made): "
        f"{answered / elapsed:.0f} health answers/s, {refused / elapsed:.0f} refused (429)/s, "
        f"node CPU {cpu:.0f} %; meanwhile signal A→B median {statistics.median(rtts):.1f} ms "
        f"(max {max(rtts):.1f}, {len(rtts)} sent), local health median "
        f"{statistics.median(health):.1f} ms (max {max(health):.1f})"
    )
    a.close()
    b.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "scenario",
        choices=["idle", "slowloris", "unjoined", "pings", "bytes", "body", "requests", "handshakes"],
    )
    parser.add_argument("--local", required=True, help="the node's local listener, 127.0.0.1:PORT")
    parser.add_argument("--lan", required=True, help="the node's LAN listener, 127.0.0.1:PORT")
    parser.add_argument("--count", type=int, default=1100)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--hold", type=float, default=60, help="seconds to watch held connections")
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument(
        "--per-source", type=int, default=64, help="connections per attacking address (idle, slowloris)"
    )
    parser.add_argument("--pid", type=int, help="the node's PID, for its CPU use and memory")
    parser.add_argument(
        "--junk", type=int, default=0, help="idle: header bytes each connection sends first"
    )
    parser.add_argument(
        "--tls-stall", action="store_true",
        help="idle: each connection starts a TLS handshake and stops (the node needs --data-dir)",
    )
    args = parser.parse_args()
    args.local, args.lan = loopback(args.local), loopback(args.lan)
    if not 0 <= args.count <= 20000 or not 0 < args.seconds <= 120 or not 0 < args.hold <= 600:
        sys.exit("count, seconds or hold out of range")
    run = {
        "idle": idle,
        "slowloris": slowloris,
        "unjoined": unjoined,
        "pings": pings,
        "bytes": bytes_flood,
        "body": body,
        "requests": requests,
        "handshakes": handshakes,
    }[args.scenario]
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
