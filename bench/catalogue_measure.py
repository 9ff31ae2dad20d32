"""Latency of catalogue routes against the same SQL run directly in psql.

    catalogue_measure.py BASE_URL PG_URL REQUESTS USERS OUT_JSON

Each case sends REQUESTS requests over one keep-alive connection, cycling
through its parameters, then the same number of queries through one psql
session (\\timing: the client's round trip, rows discarded). The SQL
mirrors what the route runs (catalog/src/search.rs, lists.rs, tags.rs);
keep the two in step. Prints p50/p95 in ms and writes OUT_JSON.
"""
import http.client
import json
import subprocess
import sys
import time
import urllib.parse

BASE, PG_URL, N, USERS, OUT = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
url = urllib.parse.urlparse(BASE)

CARD = """c.id, c.title, u.username AS owner, c.owner_id, c.slug, c.visibility, c.secret,
 c.status, c.duration_ms, c.tags, c.listed_at, c.publish_at, c.hide_stats, c.error,
 c.picture_version,
 (SELECT count(*) FROM favourites f WHERE f.cloudcast_id = c.id) AS favourites,
 (SELECT count(*) FROM reposts r WHERE r.cloudcast_id = c.id) AS reposts,
 COALESCE((SELECT ch.plays_30d FROM cloudcast_charts ch WHERE ch.cloudcast_id = c.id), 0) AS plays,
 (SELECT j.progress FROM transcode_jobs j WHERE j.cloudcast_id = c.id
   ORDER BY j.created_at DESC LIMIT 1) AS progress"""
LISTED = """(c.visibility = 'public' AND c.status = 'ready' AND c.listed_at <= now()
 AND c.taken_down_at IS NULL AND NOT c.draft
 AND (c.owner_hidden_until IS NULL OR c.owner_hidden_until <= now()))"""


def search_sql(q):
    """The statements the route runs: ranked full text, then (when that
    matched nothing and the query has 4 characters) titles by trigrams."""
    text = q.lower()
    words = [w for w in "".join(ch if ch.isalnum() else " " for ch in text).split()][:8]
    last = words[-1] + ":*" if len(words[-1]) >= 3 else words[-1]
    tsq = " & ".join(words[:-1] + [last])
    fts = f"""WITH hits AS (SELECT c.id, ts_rank(c.search_doc, q.tsq)::float8 AS rank
   FROM cloudcasts c, (SELECT to_tsquery('simple', '{tsq}') AS tsq) q
  WHERE {LISTED} AND c.search_doc @@ q.tsq),
 top AS (SELECT id, rank FROM hits ORDER BY rank DESC, id DESC LIMIT 21)
 SELECT {CARD}, top.rank FROM top JOIN cloudcasts c ON c.id = top.id
   JOIN users u ON u.id = c.owner_id ORDER BY top.rank DESC, c.id DESC"""
    typo = f"""WITH hits AS (SELECT c.id, word_similarity('{text}', lower(c.title))::float8 AS rank
   FROM cloudcasts c WHERE {LISTED} AND lower(c.title) %> '{text}'),
 top AS (SELECT id, rank FROM hits ORDER BY rank DESC, id DESC LIMIT 21)
 SELECT {CARD}, top.rank FROM top JOIN cloudcasts c ON c.id = top.id
   JOIN users u ON u.id = c.owner_id ORDER BY top.rank DESC, c.id DESC"""
    # As the route: the typo statement only when the full text found nothing.
    probe = subprocess.run(
        ["psql", "-X", "-tA", PG_URL, "-c",
         f"SELECT EXISTS (SELECT 1 FROM ({fts}) x)"],
        capture_output=True, text=True, check=True).stdout.strip()
    return [fts, typo] if probe == "f" and len(text) >= 4 else [fts]


def user_sql(name):
    return f"""SELECT {CARD} FROM cloudcasts c JOIN users u ON u.id = c.owner_id
 WHERE c.owner_id = (SELECT id FROM users WHERE lower(username) = lower('{name}'))
   AND {LISTED} ORDER BY c.listed_at DESC, c.id DESC LIMIT 21"""


def tag_sql(tag):
    return f"""SELECT {CARD} FROM cloudcast_tags t JOIN cloudcasts c ON c.id = t.cloudcast_id
 JOIN users u ON u.id = c.owner_id WHERE {LISTED} AND t.tag = '{tag}'
 ORDER BY t.listed_at DESC, t.cloudcast_id DESC LIMIT 21"""


def chart_sql(sort):
    if sort == "new":
        return f"""SELECT {CARD} FROM cloudcasts c JOIN users u ON u.id = c.owner_id
 WHERE {LISTED} ORDER BY c.listed_at DESC, c.id DESC LIMIT 21"""
    col = "plays_30d" if sort == "popular" else "trending"
    return f"""SELECT {CARD} FROM cloudcast_charts k JOIN cloudcasts c ON c.id = k.cloudcast_id
 JOIN users u ON u.id = c.owner_id WHERE {LISTED} AND k.{col} > 0
 ORDER BY k.{col} DESC, k.cloudcast_id DESC LIMIT 21"""


def related_sql(cc):
    """catalog/src/related.rs: co-listened first, then shared tags."""
    return f"""WITH co AS (SELECT r.related_id AS id, 0 AS tier, r.score AS rank, r.listeners::bigint AS n
   FROM related_cloudcasts r WHERE r.cloudcast_id = '{cc}' ORDER BY r.score DESC, r.related_id LIMIT 20),
 tagged AS (SELECT x.cloudcast_id AS id, 1 AS tier, count(*)::float8 AS rank, max(x.plays_30d) AS n
   FROM unnest((SELECT tags FROM cloudcasts WHERE id = '{cc}')) AS t(tag)
   CROSS JOIN LATERAL (SELECT ct.cloudcast_id, ct.plays_30d FROM cloudcast_tags ct WHERE ct.tag = t.tag
                        ORDER BY ct.plays_30d DESC, ct.cloudcast_id DESC LIMIT 100) x
  WHERE x.cloudcast_id <> '{cc}' GROUP BY x.cloudcast_id),
 k AS (SELECT DISTINCT ON (id) id, tier, rank, n FROM (SELECT * FROM co UNION ALL SELECT * FROM tagged) a ORDER BY id, tier)
 SELECT {CARD}, k.tier FROM k JOIN cloudcasts c ON c.id = k.id JOIN users u ON u.id = c.owner_id
  WHERE {LISTED} ORDER BY k.tier, k.rank DESC, k.n DESC, c.id LIMIT 6"""


def ids(sql):
    out = subprocess.run(["psql", "-X", "-tA", PG_URL, "-c", sql], capture_output=True, text=True, check=True)
    return out.stdout.split()


# "house" and "mix" match a fifth and a third of the catalogue.
WORDS = ["sunset", "warehouse", "techno", "jazz", "voyage", "anthems", "rooftop", "groove",
         "house", "mix"]
PAIRS = ["dub trance", "heat session", "rooftop signal", "club sunrise", "trance electro"]
TYPOS = ["warehuose", "sesion", "midnigth", "rythm", "classcs"]
PREFIXES = ["ware", "sunr", "frequ", "essen", "balea"]
TAGS = ["house", "deep house", "techno", "ambient", "drum & bass", "lo-fi", "italo"]
q = urllib.parse.quote
CASES = {
    "search: one word": [(f"/api/v1/search?q={q(w)}", search_sql(w)) for w in WORDS],
    "search: two words": [(f"/api/v1/search?q={q(w)}", search_sql(w)) for w in PAIRS],
    "search: a typo": [(f"/api/v1/search?q={q(w)}", search_sql(w)) for w in TYPOS],
    "search: a prefix": [(f"/api/v1/search?q={q(w)}", search_sql(w)) for w in PREFIXES],
    # The other kinds the header asks for as the person types (the route's
    # own statements; timed through the API only).
    "search: DJs": [(f"/api/v1/search?type=user&q={q(w)}", None)
                    for w in ["dj_1", "dj_12", "dj_123", "dj_4567", "dj_99"]],
    "search: tags": [(f"/api/v1/search?type=tag&q={q(w)}", None)
                     for w in ["hous", "techno", "deep", "drum", "ital"]],
    "search: playlists": [(f"/api/v1/search?type=playlist&q={q(w)}", None)
                          for w in WORDS + PREFIXES],
    "a user's list": [(f"/api/v1/users/dj_{k}/cloudcasts", user_sql(f"dj_{k}"))
                      for k in range(1, USERS, max(1, USERS // 37))],
    "a tag page": [(f"/api/v1/tags/{q(t)}/cloudcasts", tag_sql(t)) for t in TAGS],
    "chart: new": [("/api/v1/cloudcasts?sort=new", chart_sql("new"))],
    "chart: popular": [("/api/v1/cloudcasts?sort=popular", chart_sql("popular"))],
    "chart: trending": [("/api/v1/cloudcasts?sort=trending", chart_sql("trending"))],
    "more like this: co-listened": [
        (f"/api/v1/cloudcasts/{cc}/related", related_sql(cc))
        for cc in ids(f"""SELECT c.id FROM cloudcasts c WHERE {LISTED}
             AND EXISTS (SELECT 1 FROM related_cloudcasts r WHERE r.cloudcast_id = c.id) LIMIT 20""")],
    "more like this: by tags": [
        (f"/api/v1/cloudcasts/{cc}/related", related_sql(cc))
        for cc in ids(f"""SELECT c.id FROM cloudcasts c WHERE {LISTED}
             AND NOT EXISTS (SELECT 1 FROM related_cloudcasts r WHERE r.cloudcast_id = c.id) LIMIT 20""")],
}


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p * (len(xs) - 1))))]


def http_times(params):
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    out = []
    for i in range(N + 5):
        path = params[i % len(params)][0]
        t = time.perf_counter()
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        dt = (time.perf_counter() - t) * 1000
        if resp.status != 200:
            raise SystemExit(f"{path}: {resp.status} {body[:200]!r}")
        if i >= 5:  # the first few warm the connection and the plan cache
            out.append(dt)
    return out


def sql_times(params):
    """One sample per request: the sum of its statements' round trips."""
    stmts = lambda i: params[i % len(params)][1]
    as_list = lambda x: x if isinstance(x, list) else [x]
    script = "\\timing on\n\\o /dev/null\n"
    script += "".join(s + ";\n" for i in range(N + 5) for s in as_list(stmts(i)))
    run = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", PG_URL],
                         input=script, capture_output=True, text=True, check=True)
    times = iter(float(line.split()[1]) for line in run.stdout.splitlines()
                 if line.startswith("Time:"))
    out = [sum(next(times) for _ in as_list(stmts(i))) for i in range(N + 5)]
    return out[5:]


results = {}
print(f"{'route':<20} {'API p50':>8} {'API p95':>8} {'SQL p50':>8} {'SQL p95':>8} {'p95 ratio':>9}")
for name, params in CASES.items():
    h = http_times(params)
    r = {"api_p50_ms": pct(h, 0.5), "api_p95_ms": pct(h, 0.95)}
    if params[0][1] is None:
        results[name] = r
        print(f"{name:<20} {r['api_p50_ms']:8.2f} {r['api_p95_ms']:8.2f}")
        continue
    s = sql_times(params)
    r.update({"sql_p50_ms": pct(s, 0.5), "sql_p95_ms": pct(s, 0.95)})
    r["p95_ratio"] = r["api_p95_ms"] / r["sql_p95_ms"] if r["sql_p95_ms"] else None
    results[name] = r
    print(f"{name:<20} {r['api_p50_ms']:8.2f} {r['api_p95_ms']:8.2f} "
          f"{r['sql_p50_ms']:8.2f} {r['sql_p95_ms']:8.2f} {r['p95_ratio']:9.2f}")
with open(OUT, "w") as f:
    json.dump({"requests": N, "results": results}, f, indent=2)
