"""wasmgate's Python helper: a handler is a function from a `Request` to a `Response`.

    import wasmgate

    def handle(req: wasmgate.Request) -> wasmgate.Response:
        name = req.param("name") or "world"
        return wasmgate.Response.text(f"Hello, {name}!")

    IncomingHandler = wasmgate.serve(handle)   # the export componentize-py looks for

Build the app with componentize-py against wasmgate's `handler` world, with this file's
folder on the Python path (`-p`): `wasmgate new NAME --template python` writes a project
that does. The helper reads the whole request body, answers in 4096-byte writes, and
turns an uncaught exception into a 500 `{"message": …, "request_id": …}` — its traceback
goes to stderr, which the gateway logs line by line under the request's id (the client
never sees it).
"""

import json
import sys
import traceback
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
_CHUNK = 4096


class Request:
    """An incoming request, its body already read."""

    def __init__(self, method, path, query, headers, body):
        #: `GET`, `POST`, …
        self.method = method
        #: The path, without the query.
        self.path = path
        #: The query as a dict (the last value of a repeated name).
        self.query = query
        #: The headers as a dict of lowercase names (repeated ones joined with `, `).
        self.headers = headers
        #: The body, as bytes.
        self.body = body

    def param(self, name):
        """The route's path parameter `name` (percent-decoded), or None."""
        return context.path_param(name)

    @property
    def params(self):
        """Every path parameter, as a dict."""
        return dict(context.path_params())

    @property
    def principal(self):
        """Who the route's authorizer allowed, or None."""
        return context.principal()

    @property
    def authorizer_context(self):
        """The context the route's authorizer attached, as a dict."""
        return dict(context.authorizer_context())

    @property
    def request_id(self):
        """The request's id (its `x-request-id`, and its id in the gateway's log)."""
        return context.request_id()

    def stage_variable(self, name):
        """The stage variable `name` of the alias the route runs, or None."""
        return context.stage_variable(name)

    def text(self):
        """The body as text (UTF-8, invalid bytes replaced)."""
        return self.body.decode("utf-8", errors="replace")

    def json(self):
        """The body parsed as JSON (a `ValueError` if it is not JSON)."""
        return json.loads(self.body)


class Response:
    """What a handler answers: a status, headers and a body."""

    def __init__(self, body=b"", status=200, headers=None):
        if isinstance(body, str):
            body = body.encode()
        self.body = body
        self.status = status
        self.headers = dict(headers or {})

    @staticmethod
    def text(text, status=200):
        """A `text/plain` answer."""
        return Response(text, status, {"content-type": "text/plain; charset=utf-8"})

    @staticmethod
    def json(value, status=200):
        """A JSON answer."""
        return Response(json.dumps(value), status, {"content-type": "application/json"})


def serve(handle):
    """The `IncomingHandler` export running `handle(request) -> Response` (a `str` answers
    as text, a `dict` or `list` as JSON)."""

    class IncomingHandler(exports.IncomingHandler):
        def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
            try:
                answer = _response(handle(_request(request)))
            except Exception:
                request_id = context.request_id()
                print(
                    f"the handler raised (request {request_id}):\n{traceback.format_exc()}",
                    file=sys.stderr,
                    flush=True,
                )
                answer = Response.json(
                    {
                        "message": "the handler failed; the gateway's log has the details",
                        "request_id": request_id,
                    },
                    status=500,
                )
            _send(response_out, answer)

    return IncomingHandler


def _response(result):
    if isinstance(result, Response):
        return result
    if isinstance(result, str):
        return Response.text(result)
    if isinstance(result, (dict, list)):
        return Response.json(result)
    raise TypeError(f"a handler returns a Response, a str, a dict or a list, not {type(result).__name__}")


def _method(request):
    method = request.method()
    if isinstance(method, Method_Other):
        return method.value
    return type(method).__name__.removeprefix("Method_").upper()


def _request(request):
    url = urlsplit(request.path_with_query() or "/")
    headers = {}
    for name, value in request.headers().entries():
        value = value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    chunks = []
    body = request.consume()
    with body.stream() as stream:
        while True:
            try:
                chunks.append(stream.blocking_read(65536))
            except Err:  # closed: the whole body is read
                break
    return Request(_method(request), url.path, dict(parse_qsl(url.query)), headers, b"".join(chunks))


def _send(response_out, answer):
    fields = [(name.lower(), str(value).encode()) for name, value in answer.headers.items()]
    response = OutgoingResponse(Fields.from_list(fields))
    response.set_status_code(answer.status)
    body = response.body()
    ResponseOutparam.set(response_out, Ok(response))
    with body.write() as stream:
        for start in range(0, len(answer.body), _CHUNK):
            stream.blocking_write_and_flush(answer.body[start : start + _CHUNK])
    OutgoingBody.finish(body, None)
