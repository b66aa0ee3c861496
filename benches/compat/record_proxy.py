"""A recording HTTP proxy (standard library only): forwards every request to the r1-reward server
and appends one JSON line per request/response pair to a file.

    python3 record_proxy.py PORT UPSTREAM_URL OUT.jsonl

Each line: {"method", "path", "request", "status", "response"} with the bodies parsed as JSON
(kept as text when they are not JSON). HTTP/1.1 keep-alive, as aiohttp and urllib use it.
"""

import http.client
import http.server
import json
import sys
import threading
import urllib.parse


def parsed(body):
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")


def main():
    port, upstream, out = int(sys.argv[1]), urllib.parse.urlsplit(sys.argv[2]), sys.argv[3]
    lock = threading.Lock()
    # Truncate: one file per run of a client.
    open(out, "w").close()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def forward(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=600)
            headers = {"Content-Type": self.headers.get("Content-Type", "application/json")}
            connection.request(self.command, self.path, body=body or None, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            record = {"method": self.command, "path": self.path, "request": parsed(body),
                      "status": response.status, "response": parsed(payload)}
            with lock, open(out, "a") as f:
                f.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
            self.send_response(response.status)
            self.send_header("Content-Type", response.getheader("Content-Type", "application/json"))
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            connection.close()

        do_GET = forward
        do_POST = forward

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
