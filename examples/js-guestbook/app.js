// A guestbook in JavaScript, its entries kept in the module's key-value store
// (`key_value_stores = ["default"]`): they survive restarts, and every instance (each
// request gets a fresh one) sees the same entries.
//
// - `POST /guestbook` with `{"name": …, "message": …}` answers 201 with the entry and its
//   number;
// - `GET /guestbook` answers the latest 20 entries, newest first;
// - `GET /guestbook/{number}` answers one entry (404 for an unknown one).
//
// Built on wasmgate's helper (guest-sdk/js/wasmgate.js) and `wasi:keyvalue`: WIT's `u64`
// is a BigInt in JavaScript, `list<u8>` a Uint8Array, `option<T>` a value or `undefined`,
// and an `error` result is thrown.
import { open } from "wasi:keyvalue/store@0.2.0-draft";
import { increment } from "wasi:keyvalue/atomics@0.2.0-draft";
import { getMany } from "wasi:keyvalue/batch@0.2.0-draft";
import { serve } from "../../guest-sdk/js/wasmgate.js";

const MAX_NAME = 60;
const MAX_MESSAGE = 500;
const PAGE = 20;

const text = new TextDecoder();
const bytes = new TextEncoder();

serve(async (req) => {
  const book = open("default");
  const number = req.param("number");
  if (req.method === "POST" && number === undefined) {
    return sign(book, await req.text());
  }
  if (number !== undefined) {
    if (!/^[1-9][0-9]{0,15}$/.test(number)) {
      return Response.json({ message: "an entry's number is a whole number" }, { status: 400 });
    }
    const entry = book.get(`entry:${number}`);
    if (entry === undefined) {
      return Response.json({ message: `no entry ${number}` }, { status: 404 });
    }
    return JSON.parse(text.decode(entry));
  }
  const count = book.get("entries");
  const last = count === undefined ? 0 : Number(text.decode(count));
  const keys = [];
  for (let n = last; n > 0 && keys.length < PAGE; n--) {
    keys.push(`entry:${n}`);
  }
  const found = keys.length === 0 ? [] : getMany(book, keys);
  return {
    entries: found.filter((pair) => pair !== undefined).map(([, entry]) => JSON.parse(text.decode(entry))),
    total: last,
  };
});

/** Checks the body, numbers the entry with an atomic increment, and keeps it. */
function sign(book, body) {
  let entry;
  try {
    entry = JSON.parse(body);
  } catch {
    return Response.json({ message: "the body is a JSON object" }, { status: 400 });
  }
  const { name, message } = entry ?? {};
  if (typeof name !== "string" || name.length === 0 || name.length > MAX_NAME) {
    return Response.json({ message: `\`name\` is 1 to ${MAX_NAME} characters` }, { status: 400 });
  }
  if (typeof message !== "string" || message.length === 0 || message.length > MAX_MESSAGE) {
    return Response.json({ message: `\`message\` is 1 to ${MAX_MESSAGE} characters` }, { status: 400 });
  }
  const number = increment(book, "entries", 1n);
  const kept = { number: Number(number), name, message };
  book.set(`entry:${number}`, bytes.encode(JSON.stringify(kept)));
  return Response.json(kept, { status: 201 });
}
