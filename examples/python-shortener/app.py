"""A URL shortener in Python, its links kept in the module's key-value store
(`key_value_stores = ["default"]`): they survive restarts, and every instance (each request
gets a fresh one) sees the same links.

- `POST /s` with a URL as the body answers 201 `{"code": …, "url": …}`;
- `GET /s/{code}` answers 302 to the URL (404 for an unknown code);
- `GET /s/{code}/visits` answers how often it was followed.

Built on wasmgate's helper (`guest-sdk/python/wasmgate.py`) and `wasi:keyvalue`.
"""

import hashlib
from urllib.parse import urlsplit

from wit_world.imports import atomics
from wit_world.imports import wasi_keyvalue_store as kv

import wasmgate

# Links longer than this are refused (a key-value value holds up to 1 MiB).
MAX_URL = 2048


def handle(req: wasmgate.Request) -> wasmgate.Response:
    links = kv.open("default")
    code = req.param("code")
    if req.method == "POST" and code is None:
        url = req.text().strip()
        parts = urlsplit(url)
        if len(url) > MAX_URL or parts.scheme not in ("http", "https") or not parts.netloc:
            return wasmgate.Response.json({"message": "the body is an http(s) URL"}, status=400)
        # The same URL always gets the same code.
        code = hashlib.sha256(url.encode()).hexdigest()[:8]
        links.set(f"link:{code}", url.encode())
        return wasmgate.Response.json({"code": code, "url": url}, status=201)
    if code is None:
        return wasmgate.Response.json({"message": "no such page"}, status=404)
    url = links.get(f"link:{code}")
    if url is None:
        return wasmgate.Response.json({"message": f"no link `{code}`"}, status=404)
    if req.path.endswith("/visits"):
        visits = links.get(f"visits:{code}")
        return wasmgate.Response.json({"code": code, "visits": int(visits or b"0")})
    atomics.increment(links, f"visits:{code}", 1)
    return wasmgate.Response(b"", status=302, headers={"location": url.decode()})


IncomingHandler = wasmgate.serve(handle)
