// `GET /js/hello/{name}`: a wasmgate handler in JavaScript, built with componentize-js.
//
// StarlingMonkey (the JS engine componentize-js embeds) implements
// `wasi:http/incoming-handler` itself and hands each request to the `fetch` event as a
// standard `Request`. The gateway's context comes from the `wasmgate:gateway/context`
// import: WIT kebab-case names become camelCase, `option<string>` is a string or
// `undefined`, `list<tuple<string, string>>` an array of `[name, value]` pairs.
import {
  requestId,
  route,
  pathParams,
  pathParam,
  principal,
  authorizerContext,
} from "wasmgate:gateway/context@0.1.0";

addEventListener("fetch", (event) => event.respondWith(handle(event.request)));

async function handle(request) {
  const url = new URL(request.url);
  const name = pathParam("name") ?? "world";
  const body = await request.text();
  return Response.json(
    {
      greeting: `Hello from JavaScript, ${name}!`,
      method: request.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body_length: body.length,
      request_id: requestId(),
      route: route(),
      path_params: Object.fromEntries(pathParams()),
      principal: principal() ?? null,
      authorizer_context: Object.fromEntries(authorizerContext()),
    },
    { status: 200, headers: { "x-handler": "js" } },
  );
}
