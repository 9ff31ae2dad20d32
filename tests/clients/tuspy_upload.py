"""Uploads a file with tuspy, an unmodified standard tus client.

usage: tuspy_upload.py BASE_URL TOKEN FILE TITLE
Prints the upload URL on success.
"""
import sys

from tusclient import client

base, token, path, title = sys.argv[1:5]
tus = client.TusClient(base + "/api/v1/uploads", headers={"Authorization": "Bearer " + token})
uploader = tus.uploader(path, chunk_size=3 * 1024 * 1024, metadata={"filename": path.rsplit("/", 1)[-1], "title": title})
uploader.upload()
print(uploader.url)
