"""An OpenRLHF-style remote reward server using Math-Verify, for side-by-side throughput runs.

    python mathverify_reward_server.py --port 5001

Same protocol as OpenRLHF's `--remote_rm_url`: POST /get_reward with {"query", "prompts", "labels"}
→ {"rewards", "scores", "extra_logs"}. The response is `query` minus the prompt prefix; the gold
label is wrapped in \\boxed{} and both are parsed with Math-Verify, as verl's and OpenRLHF's math
reward examples do. One process (like a single uvicorn worker); Math-Verify's signal-based
timeouts only work on the main thread, so they are off here.
"""

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from math_verify import parse, verify


def reward(query, prompt, label):
    response = query[len(prompt):] if prompt and query.startswith(prompt) else query
    try:
        gold = parse("\\boxed{" + label + "}", parsing_timeout=None)
        answer = parse(response, parsing_timeout=None)
        return 1.0 if verify(gold, answer, timeout_seconds=None) else 0.0
    except Exception:
        return 0.0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        if self.path != "/get_reward":
            self.send_error(404)
            return
        length = int(self.headers.get("Content-Length", "0"))
        data = json.loads(self.rfile.read(length))
        queries = data.get("query", [])
        prompts = data.get("prompts") or [""] * len(queries)
        labels = data.get("labels") or [""] * len(queries)
        rewards = [reward(q, p, str(l)) for q, p, l in zip(queries, prompts, labels)]
        body = json.dumps({"rewards": rewards, "scores": rewards, "extra_logs": {"accuracy": rewards}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=5001)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"listening on {args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
