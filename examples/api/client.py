import json, os, sys, urllib.request

BASE = os.environ.get("AIRLOCK_URL", "http://127.0.0.1:7420")
HEADERS = {"Content-Type": "application/json"}
if os.environ.get("AIRLOCK_SERVE_TOKEN"):
    HEADERS["Authorization"] = "Bearer " + os.environ["AIRLOCK_SERVE_TOKEN"]

def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    return urllib.request.urlopen(urllib.request.Request(BASE + path, data, HEADERS, method=method))

HEADERS["X-Airlock-CSRF"] = json.load(call("GET", "/api/session"))["csrf"]  # needed without a token
run = json.load(call("POST", "/api/runs", {"task": sys.argv[1], "model": sys.argv[2], "workspace": sys.argv[3]}))["run"]
for line in call("GET", f"/api/runs/{run}/events"):
    if line.startswith(b"data: "):
        event = json.loads(line[6:])
        print(event["type"], event.get("name", ""), event.get("exit_code", ""))
        if event["type"] == "run_finished":
            sys.exit(event["exit_code"])
