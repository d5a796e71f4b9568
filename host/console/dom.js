// Building the page from values. Every value is set as text, never parsed as HTML: a module
// or key named `<img src=x onerror=…>` shows as that text.

/** `<tag props…>children</tag>`: `on…` props are listeners, `class` the class name. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else if (typeof value === "boolean" || typeof value === "number") node[name] = value;
    else node.setAttribute(name, String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces what `node` holds. */
export function replace(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** A table: `columns` are `[heading, cell(row)]` pairs (a heading ending in `#` is numeric). */
export function table(columns, rows, { onRow, empty = "none yet" } = {}) {
  const head = el("tr", {}, columns.map(([heading]) => numeric(el("th", {}, heading.replace(/#$/, "")), heading)));
  const body = rows.map((row) =>
    el(
      "tr",
      onRow ? { class: "link", onclick: () => onRow(row) } : {},
      columns.map(([heading, cell]) => numeric(el("td", {}, cell(row)), heading)),
    ),
  );
  if (body.length === 0) {
    body.push(el("tr", {}, el("td", { colspan: String(columns.length), class: "muted" }, empty)));
  }
  return el("table", {}, el("thead", {}, head), el("tbody", {}, body));
}

/**
 * A table updated in place, for figures that change every second: rows are kept by key and
 * a cell's text is set only when it changed, so an update costs no new elements and little
 * layout. `columns` are `[heading, text(row)]` pairs (a heading ending in `#` is numeric).
 */
export function liveTable(columns, { onRow, empty = "none yet" } = {}) {
  const body = el("tbody");
  const node = el("table", { class: "live" },
    el("thead", {}, el("tr", {}, columns.map(([heading]) => numeric(el("th", {}, heading.replace(/#$/, "")), heading)))),
    body);
  const kept = new Map();
  const none = el("tr", {}, el("td", { colspan: String(columns.length), class: "muted" }, empty));
  return {
    node,
    update(rows, keyOf) {
      const wanted = new Set();
      rows.forEach((row, position) => {
        const key = keyOf(row);
        wanted.add(key);
        let entry = kept.get(key);
        if (!entry) {
          const cells = columns.map(([heading]) => numeric(el("td"), heading));
          const tr = el("tr", onRow ? { class: "link", onclick: () => onRow(entry.row) } : {}, cells);
          entry = { tr, cells, row };
          kept.set(key, entry);
        }
        entry.row = row;
        columns.forEach(([, text], i) => {
          const value = String(text(row));
          if (entry.cells[i].textContent !== value) entry.cells[i].textContent = value;
        });
        if (body.children[position] !== entry.tr) body.insertBefore(entry.tr, body.children[position] ?? null);
      });
      for (const [key, entry] of kept) {
        if (!wanted.has(key)) {
          entry.tr.remove();
          kept.delete(key);
        }
      }
      if (rows.length === 0 && !none.isConnected) body.append(none);
      if (rows.length > 0) none.remove();
    },
  };
}

function numeric(cell, heading) {
  if (heading.endsWith("#")) cell.classList.add("num");
  return cell;
}

/** A message box: `kind` is `error` or `ok`. */
export function message(text, kind = "error") {
  return el("div", { class: `message ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

/** `1.2 MiB`. */
export function bytes(n) {
  if (n === undefined || n === null) return "";
  const units = ["B", "KiB", "MiB", "GiB"];
  let value = Number(n);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** A number for a table: at most one decimal, `–` for none. */
export function figure(n, digits = 1) {
  if (n === undefined || n === null || Number.isNaN(n)) return "–";
  return Number.isInteger(n) ? String(n) : n.toFixed(digits);
}

/** A button that runs `action`, showing its error (or its success text) in `out`. */
export function action(label, out, run, { kind = "", confirmText } = {}) {
  return el("button", {
    type: "button",
    class: kind,
    onclick: async (event) => {
      if (confirmText && !window.confirm(confirmText)) return;
      event.target.disabled = true;
      try {
        const done = await run();
        if (typeof done === "string") replace(out, message(done, "ok"));
      } catch (error) {
        replace(out, message(error.message));
      } finally {
        event.target.disabled = false;
      }
    },
  }, label);
}
