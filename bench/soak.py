#!/usr/bin/env python3
"""The soak's load: legitimate users for a baseline phase, then the same
users with a slow client and a flood client beside them. Standard library
only (threads and http.client), so it runs wherever the system does.

    soak.py BASE_URL SERVER_PID PHASE_SECONDS WORK_DIR

Legitimate users come through a trusted proxy (each with an address of its
own in X-Forwarded-For), as behind a load balancer; the flood client sends
everything from one address. Writes figures.json in WORK_DIR.
"""

import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

BASE, PID, PHASE, WORK = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
HOST, PORT = urllib.parse.urlsplit(BASE).hostname, urllib.parse.urlsplit(BASE).port
PASSWORD = "soak pass phrase"
LISTENERS = 24
BROWSERS = 4
SLOW_SOCKETS = 300
FLOOD_THREADS = 4
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"

stop = threading.Event()
attack = threading.Event()
lock = threading.Lock()
# (phase, kind) -> [latency seconds]; (phase, kind) -> errors
latencies: dict = {}
errors: dict = {}
# The first few failures as (kind, status, path, body), for the report.
failures: list = []


def phase() -> str:
    return "attacked" if attack.is_set() else "baseline"


class Client:
    """One keep-alive connection as one user at one address."""

    def __init__(self, address: str, token: str | None = None):
        self.address, self.token = address, token
        self.conn = None

    def request(self, method, path, body=None, headers=None, kind=None, ok=(200, 201, 202, 204, 206, 301, 302, 303)):
        h = {"User-Agent": UA, "X-Forwarded-For": self.address}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        started = time.monotonic()
        status, data = 0, b""
        for attempt in (1, 2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
                self.conn.request(method, path, body=body, headers=h)
                resp = self.conn.getresponse()
                status, data = resp.status, resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                break
            except (OSError, http.client.HTTPException):
                # A kept-alive connection the server closed while idle: once more on a new one.
                if self.conn:
                    self.conn.close()
                self.conn = None
                if attempt == 2:
                    status = 0
        if kind:
            key = (phase(), kind)
            with lock:
                latencies.setdefault(key, []).append(time.monotonic() - started)
                if status not in ok:
                    errors.setdefault(key, []).append(status)
                    if len(failures) < 20:
                        failures.append((kind, status, path.split("?")[0], data[:200].decode(errors="replace")))
        return status, data


def json_of(data):
    try:
        return json.loads(data or b"null")
    except ValueError:
        return None


def psql(sql: str) -> str:
    return subprocess.run(
        ["psql", "-tA", os.environ["CLOUDCAST__POSTGRES__URL"], "-c", sql],
        check=True, capture_output=True, text=True,
    ).stdout.strip()


def terms_in_force(c) -> dict:
    """The terms version a sign-up accepts, as a field (none: none asked)."""
    status, data = c.request("GET", "/api/v1/policies/terms")
    return {"terms": json_of(data)["version"]} if status == 200 else {}


def account(n: int) -> str:
    c = Client(f"10.7.{n // 250}.{n % 250 + 1}")
    name = f"soak{n}"
    c.request("POST", "/api/v1/accounts", {
        "email": f"{name}@example.org", "username": name, "password": PASSWORD, "birth_date": "1990-01-01",
        **terms_in_force(c),
    })
    # The account starts with the link mailed to it (read from the outbox),
    # which signs it in.
    body = psql(f"SELECT body FROM email_outbox WHERE to_address = '{name}@example.org' ORDER BY created_at DESC LIMIT 1")
    token = body.split("token=", 1)[1].split()[0].split("&")[0]
    _, data = c.request("POST", "/api/v1/accounts/confirm", {"token": token})
    return json_of(data)["token"]


def mix(path: str, seconds: int):
    subprocess.run([
        "gst-launch-1.0", "-q", "audiotestsrc", "wave=pink-noise", "samplesperbuffer=4410", f"num-buffers={seconds * 10}",
        "!", "audio/x-raw,rate=44100,channels=2", "!", "audioconvert", "!", "lamemp3enc", "target=bitrate",
        "bitrate=128", "cbr=true", "!", "filesink", f"location={path}",
    ], check=True)


def tus_upload(c: Client, data: bytes, title: str, kind: str):
    """Creates and sends one upload; returns the cloudcast id or None."""
    import base64
    meta = f"filename {base64.b64encode(b'mix.mp3').decode()},title {base64.b64encode(title.encode()).decode()}"
    conn = http.client.HTTPConnection(HOST, PORT, timeout=60)
    h = {"User-Agent": UA, "X-Forwarded-For": c.address, "Authorization": f"Bearer {c.token}", "Tus-Resumable": "1.0.0"}
    started = time.monotonic()
    ok = False
    cloudcast = None
    try:
        conn.request("POST", "/api/v1/uploads", body=b"", headers={**h, "Upload-Length": str(len(data)), "Upload-Metadata": meta})
        r = conn.getresponse()
        r.read()
        loc = r.getheader("Location")
        if r.status == 201 and loc:
            path = urllib.parse.urlsplit(loc).path
            conn.request("PATCH", path, body=data, headers={**h, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
            r = conn.getresponse()
            r.read()
            if r.status == 204:
                conn.request("GET", path, headers=h)
                r = conn.getresponse()
                cloudcast = (json_of(r.read()) or {}).get("cloudcast_id")
                ok = cloudcast is not None
    except (OSError, http.client.HTTPException):
        pass
    finally:
        conn.close()
    key = (phase(), kind)
    with lock:
        latencies.setdefault(key, []).append(time.monotonic() - started)
        if not ok:
            errors.setdefault(key, []).append(0)
    return cloudcast


def play(c: Client, cloudcast: str):
    """What a player does to start: the cloudcast, the master and media playlists, two ranges."""
    status, data = c.request("GET", f"/api/v1/cloudcasts/{cloudcast}", kind="cloudcast")
    view = json_of(data) or {}
    url = view.get("stream_url")
    if status != 200 or not url:
        return False
    path = urllib.parse.urlsplit(url)._replace(scheme="", netloc="").geturl()
    _, master = c.request("GET", path, kind="playlist")
    variant = next((l for l in master.decode(errors="replace").splitlines() if l and not l.startswith("#")), None)
    if not variant:
        return False
    vpath = urllib.parse.urljoin(path, variant)
    _, media = c.request("GET", vpath, kind="playlist")
    ranges, uri = [], None
    for line in media.decode(errors="replace").splitlines():
        if line.startswith("#EXT-X-BYTERANGE:"):
            length, _, offset = line.split(":", 1)[1].partition("@")
            ranges.append((int(offset or 0), int(length)))
        elif line and not line.startswith("#"):
            uri = line
    if uri:
        for offset, length in ranges[:2]:
            c.request("GET", urllib.parse.urljoin(vpath, uri), headers={"Range": f"bytes={offset}-{offset + length - 1}"}, kind="range")
    return True


def listener(n: int, token: str, cloudcasts: list):
    c = Client(f"10.8.{n // 250}.{n % 250 + 1}", token)
    rnd = random.Random(n)
    session = 0
    time.sleep(rnd.random() * 5)
    while not stop.is_set():
        cc = rnd.choice(cloudcasts)
        if not play(c, cc):
            stop.wait(5)
            continue
        session += 1
        sid = f"soak-{n}-{session}"
        for batch in range(6):
            if stop.is_set():
                return
            beats = [{"cloudcast_id": cc, "session_id": sid, "seq": batch * 5 + i, "position_ms": (batch * 5 + i) * 1000} for i in range(5)]
            c.request("POST", "/api/v1/heartbeats", beats, kind="heartbeats")
            if batch == 2:
                c.request("GET", "/api/v1/search?q=" + rnd.choice(["soak", "mix", "house", "set"]), kind="search")
            if batch == 4 and session % 2 == 0:
                c.request("POST", f"/api/v1/cloudcasts/{cc}/comments", {"body": f"Great set, listener {n} here ({session})"}, kind="comment")
            stop.wait(5)


def browser(n: int, pages: list):
    c = Client(f"10.9.0.{n + 1}")
    rnd = random.Random(1000 + n)
    while not stop.is_set():
        c.request("GET", rnd.choice(pages), kind="page")
        stop.wait(1.5)


def ready(c: Client, cloudcast: str, within: float) -> bool:
    until = time.monotonic() + within
    while time.monotonic() < until:
        _, data = c.request("GET", f"/api/v1/cloudcasts/{cloudcast}")
        if (json_of(data) or {}).get("status") == "ready":
            return True
        time.sleep(1)
    return False


def uploader(token: str, data: bytes, cloudcasts: list):
    """A DJ uploading a mix every two minutes; listeners play it once it is ready."""
    c = Client("10.6.0.1", token)
    n = 0
    while not stop.wait(120):
        n += 1
        cc = tus_upload(c, data, f"Soak upload {n}", "upload")
        if cc and ready(c, cc, 110):
            cloudcasts.append(cc)


def slow_clients(held: list, closed: list):
    """Slowloris: each socket sends part of a request head, then a header line every 10 s."""
    socks = []

    def opened():
        s = socket.create_connection((HOST, PORT), timeout=5)
        s.sendall(b"GET /api/v1/cloudcasts HTTP/1.1\r\nHost: soak\r\nX-Forwarded-For: 198.51.100.9\r\n")
        s.setblocking(False)
        return s

    while not stop.is_set() and attack.is_set():
        while len(socks) < SLOW_SOCKETS:
            try:
                socks.append(opened())
            except OSError:
                break
        held.append(len(socks))
        stop.wait(10)
        alive = []
        for s in socks:
            try:
                if s.recv(4096) == b"":
                    raise OSError("closed")
            except BlockingIOError:
                pass
            except OSError:
                closed.append(1)
                s.close()
                continue
            try:
                s.send(b"X-Slow: 1\r\n")
                alive.append(s)
            except OSError:
                closed.append(1)
                s.close()
        socks = alive
    for s in socks:
        s.close()


def flood(n: int, counts: dict):
    c = Client("198.51.100.7")
    terms = terms_in_force(c)
    i = 0
    while not stop.is_set() and attack.is_set():
        i += 1
        if i % 10 == 0:
            status, _ = c.request("POST", "/api/v1/accounts", {
                "email": f"flood{n}x{i}@example.org", "username": f"flood{n}x{i}", "password": PASSWORD, "birth_date": "1990-01-01",
                **terms,
            })
        else:
            status, _ = c.request("GET", "/api/v1/cloudcasts?limit=50")
        with lock:
            counts[status] = counts.get(status, 0) + 1


def rss_mib() -> float:
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def summary(name: str) -> dict:
    kinds = {}
    total, failed = 0, 0
    for (p, kind), lat in sorted(latencies.items()):
        if p != name:
            continue
        errs = errors.get((p, kind), [])
        total += len(lat)
        failed += len(errs)
        q = statistics.quantiles(lat, n=100) if len(lat) >= 2 else [lat[0]] * 99
        kinds[kind] = {
            "requests": len(lat),
            "p50_ms": round(q[49] * 1000, 1),
            "p99_ms": round(q[98] * 1000, 1),
            "errors": len(errs),
            "error_statuses": sorted(set(errs)),
        }
    return {"kinds": kinds, "requests": total, "error_rate": round(failed / total, 5) if total else None}


def main():
    os.makedirs(WORK, exist_ok=True)
    dj_token = account(0)
    tokens = [account(i) for i in range(1, LISTENERS + 1)]
    # The soak's users have confirmed their addresses (they comment).
    psql("UPDATE users SET email_verified_at = now() WHERE email_verified_at IS NULL")
    seed, small = os.path.join(WORK, "seed.mp3"), os.path.join(WORK, "small.mp3")
    mix(seed, 120)
    # Longer than a listening session (30 s), so no beat lies past the end.
    mix(small, 40)
    dj = Client("10.6.0.1", dj_token)
    first = tus_upload(dj, open(seed, "rb").read(), "Soak seed mix", "setup")
    if not first or not ready(dj, first, 300):
        sys.exit("the seed mix never became ready")
    slug = (json_of(dj.request("GET", f"/api/v1/cloudcasts/{first}")[1]) or {}).get("url", "/")
    cloudcasts = [first]
    pages = ["/", "/search?q=soak", slug, "/soak0"]

    threads = [threading.Thread(target=listener, args=(i, t, cloudcasts), daemon=True) for i, t in enumerate(tokens)]
    threads += [threading.Thread(target=browser, args=(i, pages), daemon=True) for i in range(BROWSERS)]
    threads.append(threading.Thread(target=uploader, args=(dj_token, open(small, "rb").read(), cloudcasts), daemon=True))
    rss = {"start": round(rss_mib(), 1)}
    samples = []
    for t in threads:
        t.start()

    def sample_for(seconds):
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            samples.append((phase(), round(rss_mib(), 1)))
            time.sleep(5)

    sample_for(PHASE)
    rss["end_baseline"] = samples[-1][1]
    attack.set()
    held, closed, counts = [], [], {}
    attackers = [threading.Thread(target=slow_clients, args=(held, closed), daemon=True)]
    attackers += [threading.Thread(target=flood, args=(i, counts), daemon=True) for i in range(FLOOD_THREADS)]
    for t in attackers:
        t.start()
    sample_for(PHASE)
    stop.set()
    for t in threads + attackers:
        t.join(timeout=60)
    rss["end"] = round(rss_mib(), 1)
    rss["max_baseline"] = max(v for p, v in samples if p == "baseline")
    rss["max_attacked"] = max(v for p, v in samples if p == "attacked")

    base, hit = summary("baseline"), summary("attacked")
    ratios = {
        k: round(hit["kinds"][k]["p99_ms"] / v["p99_ms"], 2)
        for k, v in base["kinds"].items()
        if k in hit["kinds"] and v["p99_ms"] > 0
    }
    flood_total = sum(counts.values())
    figures = {
        "phase_seconds": PHASE,
        "listeners": LISTENERS,
        "baseline": base,
        "attacked": hit,
        "p99_attacked_over_baseline": ratios,
        "slow_client": {"sockets": SLOW_SOCKETS, "closed_by_server": len(closed), "held_median": statistics.median(held) if held else 0},
        "flood": {
            "requests": flood_total,
            "per_second": round(flood_total / PHASE, 1),
            "statuses": {str(k): v for k, v in sorted(counts.items())},
            "share_429": round(counts.get(429, 0) / flood_total, 3) if flood_total else None,
        },
        "rss_mib": rss,
        "first_failures": failures,
    }
    with open(os.path.join(WORK, "figures.json"), "w") as f:
        json.dump(figures, f, indent=2)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
