// Safe DOM building: every value from data becomes a text node (never HTML).

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

// Only http(s) links from data become clickable; anything else (javascript:, data:) stays text.
export function safeUrl(text) {
  try {
    const url = new URL(String(text));
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

export function fmt(value, digits = 0) {
  if (typeof value !== "number" || !Number.isFinite(value)) return String(value);
  return value.toLocaleString("en-GB", { maximumFractionDigits: digits });
}

export function pct(value, digits = 0) {
  if (typeof value !== "number" || !Number.isFinite(value)) return "–";
  return `${(value * 100).toFixed(digits)} %`;
}

export async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const detail = body && body.detail;
    const message = typeof detail === "string" ? detail : JSON.stringify(detail || response.statusText);
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  return body;
}

// A key/value table; values are rendered as text.
export function table(rows, className = "kv") {
  return el(
    "table",
    { class: className },
    el("tbody", {}, rows.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v)))),
  );
}

// A colour swatch (colour from our own constants, set through CSSOM, not a style attribute).
export function swatch(colour) {
  const node = el("span", { class: "swatch" });
  node.style.background = colour;
  return node;
}

// A stored key or value as a reader would say it: "(missing)" → "not tagged", "public_space" →
// "public space", "length_m" → "length (m)".
const UNITS = { _m: "m", _m2: "m²", _km: "km", _min: "min", _deg: "°", _s: "s" };
export function human(key) {
  const text = String(key);
  if (text === "(missing)" || text === "" || text === "null") return "not tagged";
  for (const [suffix, unit] of Object.entries(UNITS)) {
    if (text.endsWith(suffix) && text.length > suffix.length) return `${text.slice(0, -suffix.length).replaceAll("_", " ")} (${unit})`;
  }
  return text.replaceAll("_", " ");
}
