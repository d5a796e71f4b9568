"""`GET /python/hello/{name}`: a wasmgate handler in Python, built with componentize-py.

It exports `wasi:http/incoming-handler` (the `IncomingHandler` class below) and imports
`wasmgate:gateway/context` for the matched route, path parameters and authorizer output.
"""

import json
from urllib.parse import parse_qsl, urlsplit

from componentize_py_types import Err, Ok
from wit_world import exports
from wit_world.imports import context
from wit_world.imports.types import (
    Fields,
    IncomingRequest,
    Method_Other,
    OutgoingBody,
    OutgoingResponse,
    ResponseOutparam,
)

# `blocking_write_and_flush` takes at most 4096 bytes per call.
CHUNK = 4096


class IncomingHandler(exports.IncomingHandler):
    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        url = urlsplit(request.path_with_query() or "/")
        body = read_body(request)
        name = context.path_param("name") or "world"
        answer = {
            "greeting": f"Hello from Python, {name}!",
            "method": method_name(request),
            "path": url.path,
            "query": dict(parse_qsl(url.query)),
            "body_length": len(body),
            "request_id": context.request_id(),
            "route": context.route(),
            "path_params": dict(context.path_params()),
            "principal": context.principal(),
            "authorizer_context": dict(context.authorizer_context()),
        }
        respond(response_out, 200, "application/json", json.dumps(answer).encode())


def method_name(request: IncomingRequest) -> str:
    method = request.method()
    if isinstance(method, Method_Other):
        return method.value
    return type(method).__name__.removeprefix("Method_").upper()


def read_body(request: IncomingRequest) -> bytes:
    chunks = []
    body = request.consume()
    with body.stream() as stream:
        while True:
            try:
                chunks.append(stream.blocking_read(65536))
            except Err:  # the stream is closed: the whole body has been read
                break
    return b"".join(chunks)


def respond(response_out: ResponseOutparam, status: int, content_type: str, data: bytes) -> None:
    headers = Fields.from_list(
        [("content-type", content_type.encode()), ("x-handler", b"python")]
    )
    response = OutgoingResponse(headers)
    response.set_status_code(status)
    body = response.body()
    ResponseOutparam.set(response_out, Ok(response))
    with body.write() as stream:
        for start in range(0, len(data), CHUNK):
            stream.blocking_write_and_flush(data[start : start + CHUNK])
    OutgoingBody.finish(body, None)
