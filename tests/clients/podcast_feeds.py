"""Reads a podcast feed with gPodder's podcastparser and with feedparser,
as podcast apps do, and prints what each understood as one JSON object.

    python podcast_feeds.py FEED_URL
"""
import io
import json
import sys
import urllib.request
import uuid

import feedparser
import podcastparser


def main(url):
    raw = urllib.request.urlopen(url).read()
    gpodder = podcastparser.parse(url, io.BytesIO(raw))
    fp = feedparser.parse(raw)
    # The Podcasting 2.0 namespace's rule for podcast:guid, worked out here
    # with Python's own uuid5 to hold the server to it.
    bare = url.split("://", 1)[-1].rstrip("/")
    namespace = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
    out = {
        "expected_guid": str(uuid.uuid5(namespace, bare)),
        "podcastparser": {
            "title": gpodder.get("title"),
            "episodes": [
                {
                    "title": e.get("title"),
                    "guid": e.get("guid"),
                    "published": e.get("published"),
                    "total_time": e.get("total_time"),
                    "enclosures": [
                        {"url": x["url"], "length": x["file_size"], "type": x["mime_type"]}
                        for x in e.get("enclosures", [])
                    ],
                }
                for e in gpodder.get("episodes", [])
            ],
        },
        "feedparser": {
            "bozo": bool(fp.bozo),
            "title": fp.feed.get("title"),
            "image": (fp.feed.get("image") or {}).get("href"),
            "author": fp.feed.get("author"),
            "entries": [
                {
                    "title": e.get("title"),
                    "id": e.get("id"),
                    "duration": e.get("itunes_duration"),
                    "enclosures": [
                        {"url": x.get("href"), "length": x.get("length"), "type": x.get("type")}
                        for x in e.get("enclosures", [])
                    ],
                }
                for e in fp.entries
            ],
        },
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
