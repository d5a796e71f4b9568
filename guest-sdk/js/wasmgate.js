// wasmgate's JavaScript helper: a handler is an async function from a request to a
// response.
//
//   import { serve } from "./wasmgate.js";
//
//   serve(async (req) => {
//     const name = req.param("name") ?? "world";
//     return `Hello, ${name}!`;            // a string answers as text, an object as JSON
//   });
//
// `req` is the standard `Request` (method, url, headers, text(), json()) with wasmgate's
// context added: `req.param(name)`, `req.params`, `req.principal`,
// `req.authorizerContext`, `req.requestId`, `req.stageVariable(name)`. An uncaught
// exception answers 500 `{"message": …, "request_id": …}`; its stack goes to stderr, which
// the gateway logs line by line under the request's id (the client never sees it).
import {
  requestId,
  pathParam,
  pathParams,
  principal,
  authorizerContext,
  stageVariable,
} from "wasmgate:gateway/context@0.1.0";

/** Answers every request with `handle(req)`. */
export function serve(handle) {
  addEventListener("fetch", (event) => event.respondWith(run(handle, event.request)));
}

async function run(handle, request) {
  try {
    request.param = (name) => pathParam(name);
    request.params = Object.fromEntries(pathParams());
    request.principal = principal();
    request.authorizerContext = Object.fromEntries(authorizerContext());
    request.requestId = requestId();
    request.stageVariable = (name) => stageVariable(name);
    return answer(await handle(request));
  } catch (error) {
    const id = requestId();
    const detail = error && error.stack ? `${error}\n${error.stack}` : `${error}`;
    console.error(`the handler threw (request ${id}): ${detail}`);
    return Response.json(
      { message: "the handler failed; the gateway's log has the details", request_id: id },
      { status: 500 },
    );
  }
}

function answer(result) {
  if (result instanceof Response) {
    return result;
  }
  if (typeof result === "string") {
    return new Response(result, {
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  }
  return Response.json(result);
}
