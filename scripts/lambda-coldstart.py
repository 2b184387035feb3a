#!/usr/bin/env python3
"""Cold-start benchmark for the Lambda bootstraps, with no AWS: a fake Lambda Runtime API on loopback hands
each bootstrap one sample event and times, from process start, its first poll for work (init) and its
response (first invocation, whose storage calls go to a moto server on loopback). Runs each bootstrap RUNS
times and prints medians, and ratios against the `openapi` function (no storage calls, measured in the same
run) as the baseline.

    make aws-coldstart    # = .venv/bin/python scripts/lambda-coldstart.py [.aws-sam/build], after make aws-build

AWS credential resolution, the network and Lambda's own sandbox start are not included.
"""
import http.server, os, socket, statistics, subprocess, sys, threading, time
from pathlib import Path

import boto3  # installed with moto[server] by scripts/tools.sh

RUNS = 5
ROOT = Path(__file__).resolve().parent.parent
# Function directory in the SAM build → sample event it is given.
EVENTS = {
    "OpenApiFunction": "openapi", "HealthFunction": "health", "IngestEventFunction": "ingest-event",
    "IngestAudioFunction": "ingest-audio-chunk", "CallsFunction": "calls", "SnapshotFunction": "snapshot",
    "LiveAudioFunction": "live-audio", "AlertsFunction": "alerts", "AlertAckFunction": "alert-ack",
    "WsTicketFunction": "ws-ticket", "WebSocketFunction": "ws-subscribe", "HousekeepingFunction": "housekeeping",
}


def start_moto() -> tuple[subprocess.Popen, str]:
    """A moto server on a free loopback port with the table and bucket the functions use."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([str(ROOT / ".venv/bin/moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.1)
    kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    boto3.client("dynamodb", **kw).create_table(
        TableName="t", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in ("pk", "sk")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
    boto3.client("s3", **kw).create_bucket(Bucket="coldstart")
    return proc, endpoint


def run_once(bootstrap: Path, event: bytes, endpoint: str) -> tuple[float, float]:
    marks: dict[str, float] = {}

    class Runtime(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if "poll" in marks:  # the second poll: leave it hanging, the process is killed
                time.sleep(30)
                return
            marks["poll"] = time.monotonic()
            self.send_response(200)
            headers = {
                "Lambda-Runtime-Aws-Request-Id": "req-1",
                "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + 30000),
                "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:x",
                "Content-Length": str(len(event)),
            }
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(event)

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            marks["done"] = time.monotonic()
            self.send_response(202)
            self.end_headers()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Runtime)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(
        os.environ, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}", AWS_LAMBDA_FUNCTION_NAME="x",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256", AWS_LAMBDA_FUNCTION_VERSION="1", AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_EC2_METADATA_DISABLED="true",
        AWS_ENDPOINT_URL=endpoint, TABLE_NAME="t", BUCKET_NAME="coldstart",
        REALTIME_INGEST_TOKEN="replace-me", WEBSOCKET_CALLBACK_URL=endpoint,
    )
    start = time.monotonic()
    proc = subprocess.Popen([str(bootstrap)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while "done" not in marks and time.monotonic() - start < 20:
        time.sleep(0.0005)
    proc.kill()
    proc.wait()
    server.shutdown()
    if "done" not in marks:
        raise SystemExit(f"{bootstrap}: no response within 20 s")
    return (marks["poll"] - start) * 1000, (marks["done"] - start) * 1000


def main() -> None:
    build = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / ".aws-sam" / "build"
    rows = []
    moto, endpoint = start_moto()
    try:
        for function, event_name in EVENTS.items():
            bootstrap = build / function / "bootstrap"
            if not bootstrap.exists():
                raise SystemExit(f"missing {bootstrap}: run `make aws-build` first")
            event = (ROOT / "events" / f"{event_name}.json").read_bytes()
            runs = [run_once(bootstrap, event, endpoint) for _ in range(RUNS)]
            rows.append((function, statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs),
                         bootstrap.stat().st_size / 1e6))
    finally:
        moto.kill()
        moto.wait()
    base_init, base_first = rows[0][1], rows[0][2]
    print(f"{'function':<22} {'MB':>5} {'init ms':>8} {'first ms':>9} {'× init':>7} {'× first':>8}")
    for function, init, first, mb in rows:
        print(f"{function:<22} {mb:>5.1f} {init:>8.1f} {first:>9.1f} {init / base_init:>7.2f} {first / base_first:>8.2f}")
    print(f"medians of {RUNS} runs; baseline (× 1.00): {rows[0][0]}")


if __name__ == "__main__":
    main()
