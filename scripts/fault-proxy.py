#!/usr/bin/env python3
"""scripts/fault-proxy.py -- a fault-injecting HTTP/1.1 proxy between svcconf and an S3/KMS server.

    python3 scripts/fault-proxy.py --upstream 127.0.0.1:PORT --rules FILE [--port 0]

Prints "port=N" when listening. Each client connection is handled request by request; before each
request the rules file (JSON, re-read every time so tests can change it) is consulted:

    [{"method": "PUT", "path": "/bucket/.*versions/.*", "fault": "reset_after_forward", "times": 1}, ...]

The first rule whose method (optional) and path regex (optional, matched against the path without
the query) match, and whose "times" is not used up, applies (its use is counted in FILE.count):
  status_503 / status_500   answer that status with an S3-style XML error; the request is NOT forwarded
  slowdown                  answer 503 SlowDown (S3's throttling error); not forwarded
  reset_before              close the connection (RST) without forwarding
  reset_after_forward       forward, read the upstream answer, then reset instead of answering
  truncate                  forward, then send the answer's head and half its body, and close
  stall:SECONDS             wait, then forward normally
Unmatched requests are forwarded unchanged. Every request is logged to FILE.log as
"METHOD PATH -> FAULT|status" (no bodies, no headers: nothing secret).
"""
import argparse, asyncio, json, os, re, socket, struct, sys

def load_rules(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return []

def take(rules_path, method, path):
    rules = load_rules(rules_path)
    counts_path = rules_path + ".count"
    try:
        with open(counts_path) as f:
            counts = json.load(f)
    except (OSError, ValueError):
        counts = {}
    for i, r in enumerate(rules):
        if r.get("method") and r["method"] != method:
            continue
        if r.get("path") and not re.search(r["path"], path):
            continue
        used = counts.get(str(i), 0)
        if used >= r.get("times", 1 << 30):
            continue
        counts[str(i)] = used + 1
        with open(counts_path, "w") as f:
            json.dump(counts, f)
        return r["fault"]
    return None

async def read_message(reader, is_response=False, request_method=None):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = 0
    chunked = False
    for line in lines[1:]:
        if b":" in line:
            k, v = line.split(b":", 1)
            k = k.strip().lower()
            if k == b"content-length":
                length = int(v.strip())
            elif k == b"transfer-encoding" and b"chunked" in v.lower():
                chunked = True
    body = b""
    no_body = is_response and (request_method == "HEAD" or lines[0].split(b" ")[1] in (b"204", b"304"))
    if no_body:
        return head, b""
    if chunked:
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            body += size_line + chunk
            if size == 0:
                # trailers end with an empty line; we sent "0\r\n" + "\r\n" already in chunk
                break
    elif length:
        body = await reader.readexactly(length)
    return head, body

def reset(writer):
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()

def error_response(status, code):
    body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code><Message>injected by fault-proxy</Message>"
            "<RequestId>fault-proxy</RequestId></Error>" % code).encode()
    reason = {500: "Internal Server Error", 503: "Service Unavailable"}[status]
    return ("HTTP/1.1 %d %s\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n\r\n" % (status, reason, len(body))).encode() + body

async def handle(client_reader, client_writer, upstream, rules_path):
    log = open(rules_path + ".log", "a")
    up_reader = up_writer = None
    try:
        while True:
            try:
                head, body = await read_message(client_reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            method, target = request_line.split(" ")[0], request_line.split(" ")[1]
            path = target.split("?", 1)[0]
            fault = take(rules_path, method, path)
            log.write("%s %s -> %s\n" % (method, path, fault or "forward"))
            log.flush()
            if fault in ("status_503", "status_500", "slowdown"):
                status = 500 if fault == "status_500" else 503
                code = {"status_503": "ServiceUnavailable", "status_500": "InternalError", "slowdown": "SlowDown"}[fault]
                client_writer.write(error_response(status, code))
                await client_writer.drain()
                continue
            if fault == "reset_before":
                reset(client_writer)
                return
            if fault and fault.startswith("stall:"):
                await asyncio.sleep(float(fault.split(":", 1)[1]))
            if up_writer is None:
                host, port = upstream.rsplit(":", 1)
                up_reader, up_writer = await asyncio.open_connection(host, int(port))
            up_writer.write(head + body)
            await up_writer.drain()
            rhead, rbody = await read_message(up_reader, is_response=True, request_method=method)
            if fault == "reset_after_forward":
                reset(client_writer)
                return
            if fault == "truncate" and rbody:
                client_writer.write(rhead + rbody[: len(rbody) // 2])
                await client_writer.drain()
                reset(client_writer)
                return
            client_writer.write(rhead + rbody)
            await client_writer.drain()
    except Exception as e:  # never crash the proxy; the client sees a closed connection
        log.write("proxy error: %s\n" % type(e).__name__)
        try:
            reset(client_writer)
        except Exception:
            pass
    finally:
        log.close()
        if up_writer is not None:
            up_writer.close()

async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--rules", required=True)
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    server = await asyncio.start_server(lambda r, w: handle(r, w, a.upstream, a.rules), "127.0.0.1", a.port)
    print("port=%d" % server.sockets[0].getsockname()[1], flush=True)
    # exit when stdin closes (the test that started us is gone)
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_reader(sys.stdin.fileno(), lambda: stop.done() or (os.read(sys.stdin.fileno(), 4096) == b"" and stop.set_result(None)))
    async with server:
        await stop

if __name__ == "__main__":
    asyncio.run(main())
