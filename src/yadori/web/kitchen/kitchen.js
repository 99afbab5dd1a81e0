// The kitchen screen: open orders by status, live from the edge's server-sent events, with the
// actions that move them on. It talks only to the edge, so it works while the WAN is down; staff
// log in with code and PIN (the edge signs the token itself when the WAN is down).
const code = new URLSearchParams(location.search).get("p") || "";
const property = `/api/v1/properties/${encodeURIComponent(code)}`;
const base = `${property}/room-service`;
const KEY = `yadori.kitchen.token.${code}`;
let token = sessionStorage.getItem(KEY) || "";

function authorised(init = {}) {
  return { ...init, headers: { ...(init.headers || {}), Authorization: `Bearer ${token}` } };
}

async function call(url, init = {}) {
  const response = await fetch(url, authorised(init));
  if (response.status === 401) signedOut();
  return response;
}

function signedOut(message = "") {
  token = "";
  sessionStorage.removeItem(KEY);
  document.getElementById("login").hidden = false;
  document.getElementById("board").hidden = true;
  document.getElementById("login-error").textContent = message;
}

async function logIn(event) {
  event.preventDefault();
  const form = event.target;
  const response = await fetch(`${property}/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ staff_code: form.staff_code.value.trim(), pin: form.pin.value }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    signedOut(body.detail || `${response.status}`);
    return;
  }
  token = body.token;
  sessionStorage.setItem(KEY, token);
  form.reset();
  start();
}
const NEXT = { accepted: "preparing", preparing: "delivering", delivering: "delivered" };
const LABEL = { preparing: "調理開始 Start", delivering: "お届けへ Out", delivered: "お届け済 Delivered" };

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

async function advance(order, status) {
  await call(`${base}/orders/${order.id}/advance`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ status }),
  });
  await load();
}

let timeZone = "Asia/Tokyo";  // the hotel's, read at start

function clock(iso) {
  return new Date(iso).toLocaleTimeString("ja-JP", { hour: "2-digit", minute: "2-digit", timeZone });
}

function yen(n) { return `¥${n.toLocaleString("ja-JP")}`; }

function price(order) {
  const both = order.price_changed
    ? `見積 est. ${yen(order.estimated_total)} · 確定 conf. ${yen(order.confirmed_total)} · `
    : "";
  return `${both}請求 charge ${yen(order.charge)}`;
}

function card(order) {
  const what = order.lines.map((l) => `${l.name_ja} / ${l.name_en} × ${l.quantity}`).join("\n");
  const next = NEXT[order.status];
  const go = el("button", { type: "button", textContent: LABEL[next] });
  go.addEventListener("click", () => advance(order, next));
  const cancel = el("button", { type: "button", className: "cancel", textContent: "取消 Cancel" });
  cancel.addEventListener("click", () => advance(order, "cancelled"));
  const li = el("li", {},
    el("div", { className: "head" }, el("span", { textContent: `${order.room_number} 号室 · ${order.number}` }),
      el("span", { textContent: clock(order.placed_at) })),
    el("div", { textContent: what, style: "white-space: pre-line" }),
    el("div", { className: "notes", textContent: [order.deliver_at ? `⏰ ${clock(order.deliver_at)}` : "", order.notes].filter(Boolean).join(" · ") }),
    el("div", { className: "price", textContent: price(order) }), go, cancel);
  li.dataset.order = order.id;
  return li;
}

async function load() {
  if (!token) return;
  const response = await call(`${base}/orders?active=true`, { cache: "no-store" });
  if (!response.ok) return;
  const orders = await response.json();
  for (const section of document.querySelectorAll("section[data-status]")) {
    section.querySelector("ul").replaceChildren(...orders.filter((o) => o.status === section.dataset.status).map(card));
  }
}

let events = null;

function listen() {
  const link = document.getElementById("link");
  if (events) events.close();
  // an EventSource cannot send headers: the token goes in the query string
  events = new EventSource(`${base}/events?access_token=${encodeURIComponent(token)}`);
  events.onopen = () => { link.textContent = "live"; link.className = "link live"; load(); };
  events.onerror = () => { link.textContent = "reconnecting"; link.className = "link down"; };
  events.addEventListener("order", () => load());
}

function start() {
  document.getElementById("login").hidden = true;
  document.getElementById("board").hidden = false;
  call(property)
    .then((r) => (r.ok ? r.json() : null))
    .then((p) => { if (p) timeZone = p.timezone; })
    .catch(() => undefined)
    .finally(() => { load(); listen(); });
}

document.getElementById("login").addEventListener("submit", logIn);
if (token) start(); else signedOut();
setInterval(load, 15000);  // orders that reach this edge by sync, not by this screen's actions
