// `Hello, world!` as a plain wasi:http component in JavaScript (componentize-js): no gateway
// import, so `wasmtime serve` runs the same bytes as wasmgate.
addEventListener("fetch", (event) =>
  event.respondWith(
    new Response("Hello, world!", { headers: { "content-type": "text/plain; charset=utf-8" } }),
  ),
);
