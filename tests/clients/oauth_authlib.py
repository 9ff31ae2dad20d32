"""A third-party app driven by Authlib, an OAuth 2.0 client nobody here
wrote: the authorization code flow with PKCE (S256) through a loopback
redirect (RFC 8252), then the token at work, refreshed and revoked.

usage: oauth_authlib.py BASE CLIENT_ID UPLOAD_FILE CLOUDCAST_ID

Prints the authorization URL on its first line and waits for the browser
to come back to the loopback redirect (a person allows the app on the
consent page meanwhile); then prints one line of JSON with what it saw.
"""
import http.server
import json
import sys
import threading

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.integrations.base_client.errors import OAuthError
from tusclient import client as tus

base, client_id, upload_file, cloudcast = sys.argv[1:5]
came_back = {}


class Callback(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        came_back["path"] = self.path
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"You may close this window.")
        threading.Thread(target=self.server.shutdown).start()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Callback)
# Registered as http://127.0.0.1/callback: any port is this machine's.
redirect = f"http://127.0.0.1:{server.server_port}/callback"
meta = requests.get(base + "/.well-known/oauth-authorization-server", timeout=10).json()
app = OAuth2Session(
    client_id,
    scope="read write upload",
    redirect_uri=redirect,
    code_challenge_method="S256",
    token_endpoint_auth_method="none",
)
verifier = generate_token(64)
url, state = app.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier)
print(url, flush=True)
server.serve_forever()
back = f"http://127.0.0.1:{server.server_port}{came_back['path']}"
out = {"came_back": back}
# Authlib checks the state it sent came back, then trades code + verifier.
token = app.fetch_token(
    meta["token_endpoint"], authorization_response=back, state=state, code_verifier=verifier
)
out["scope"] = token["scope"]
out["expires_in"] = token["expires_in"]
out["token_type"] = token["token_type"]

api = base + "/api/v1"
me = app.get(api + "/me", timeout=10)
out["me"] = [me.status_code, me.json()]
fav = app.put(f"{api}/cloudcasts/{cloudcast}/favourite", timeout=10)
out["favourite"] = fav.status_code
# tuspy, an unmodified tus client, uploads with the app's token.
uploader = tus.TusClient(api + "/uploads", headers={"Authorization": "Bearer " + token["access_token"]}).uploader(
    upload_file, chunk_size=1 << 20, metadata={"filename": "app-upload.wav", "title": "Sent by an app"}
)
uploader.upload()
out["upload_url"] = uploader.url
keys = app.get(api + "/me/api-keys", timeout=10)
stats = app.get(f"{api}/cloudcasts/{cloudcast}/stats", timeout=10)
out["api_keys"] = [keys.status_code, keys.json()["error"]["code"], keys.headers.get("WWW-Authenticate")]
out["stats"] = [stats.status_code, stats.json()["error"]["code"]]

# A refresh rotates the refresh token; the old one presented again kills
# the whole family (the new access token too).
first_refresh = token["refresh_token"]
fresh = app.refresh_token(meta["token_endpoint"], refresh_token=first_refresh)
out["rotated"] = fresh["refresh_token"] != first_refresh
out["me_after_refresh"] = app.get(api + "/me", timeout=10).status_code
try:
    app.refresh_token(meta["token_endpoint"], refresh_token=first_refresh)
    out["reuse"] = "accepted"
except OAuthError as e:
    out["reuse"] = e.error
out["me_after_reuse"] = requests.get(
    api + "/me", headers={"Authorization": "Bearer " + fresh["access_token"]}, timeout=10
).status_code
try:
    app.refresh_token(meta["token_endpoint"], refresh_token=fresh["refresh_token"])
    out["newest_after_reuse"] = "accepted"
except OAuthError as e:
    out["newest_after_reuse"] = e.error
print(json.dumps(out), flush=True)
