# A client that uploads its whole body before it reads the answer, as Python's http.client does
# (conn.request() sends everything, then conn.getresponse() reads). Used by uploads.test.ts to
# show the local stack's early answers (413s) reach such a client instead of a reset.
# Prints one JSON line: {"status", "body", "seconds"} or {"error", "seconds"}.
import http.client
import json
import sys
import time

host, port, path, size, framing, connection = sys.argv[1:7]
extra_headers = json.loads(sys.argv[7]) if len(sys.argv) > 7 else {}
size = int(size)
conn = http.client.HTTPConnection(host, int(port), timeout=30)
headers = {"Content-Type": "application/octet-stream", **extra_headers}
if connection == "close":
    headers["Connection"] = "close"
piece = b"x" * 65536


def chunks():
    left = size
    while left > 0:
        n = min(left, len(piece))
        left -= n
        yield piece[:n]


started = time.monotonic()
try:
    if framing == "chunked":
        conn.request("POST", path, body=chunks(), headers=headers, encode_chunked=True)
    else:
        conn.request("POST", path, body=b"x" * size, headers=headers)
    response = conn.getresponse()
    result = {"status": response.status, "body": response.read().decode("latin1")}
except Exception as error:  # any failure (reset, broken pipe) is what the test looks for
    result = {"error": f"{type(error).__name__}: {error}"}
result["seconds"] = round(time.monotonic() - started, 3)
print(json.dumps(result))
