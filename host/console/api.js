// The admin API, called with the bearer token the operator signed in with. The token is
// kept in sessionStorage only (never a cookie or a URL): it goes with this tab.

const TOKEN = "wasmgate.admin-token";

export const token = {
  get: () => sessionStorage.getItem(TOKEN),
  set: (value) => sessionStorage.setItem(TOKEN, value),
  clear: () => sessionStorage.removeItem(TOKEN),
};

/** An admin API error: its status and the API's own message. */
export class ApiError extends Error {
  constructor(status, text) {
    super(text);
    this.status = status;
  }
}

/** What an answer says went wrong: the API's `message` (and `detail`), else its status. */
function failure(status, text) {
  let said = "";
  try {
    const body = JSON.parse(text);
    said = [body.message, body.detail].filter(Boolean).join(": ");
  } catch {
    said = text.slice(0, 300);
  }
  return new ApiError(status, `${status}: ${said || "the admin API refused the call"}`);
}

function headers(extra = {}) {
  return { authorization: `Bearer ${token.get() ?? ""}`, ...extra };
}

/** Calls `METHOD path` with `body` (an object is sent as JSON) and answers its JSON. */
export async function call(method, path, body) {
  const init = { method, headers: headers(), cache: "no-store" };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    init.headers["content-type"] = "application/json";
  }
  const response = await fetch(path, init);
  const text = await response.text();
  if (response.status === 401) window.dispatchEvent(new Event("wasmgate-signed-out"));
  if (!response.ok) throw failure(response.status, text);
  return text ? JSON.parse(text) : {};
}

/** `GET path` as a stream of server-sent events' data, each passed to `onData` parsed. */
export async function follow(path, onData, signal) {
  const response = await fetch(path, { headers: headers(), cache: "no-store", signal });
  if (!response.ok) throw failure(response.status, await response.text());
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    pending += value;
    let end;
    while ((end = pending.indexOf("\n\n")) >= 0) {
      const event = pending.slice(0, end);
      pending = pending.slice(end + 2);
      for (const line of event.split("\n")) {
        if (line.startsWith("data: ")) onData(JSON.parse(line.slice(6)));
      }
    }
  }
}

/** Uploads `file`'s bytes to `path` (POST), reporting the share sent to `onProgress`. */
export function upload(path, file, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", path);
    request.setRequestHeader("authorization", `Bearer ${token.get() ?? ""}`);
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    request.onload = () => {
      if (request.status >= 200 && request.status < 300) resolve(JSON.parse(request.responseText));
      else reject(failure(request.status, request.responseText));
    };
    request.onerror = () => reject(new ApiError(0, "the upload failed: the admin API did not answer"));
    request.send(file);
  });
}
