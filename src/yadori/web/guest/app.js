// The room-service page: menu, cart, the IndexedDB queue and the banner.
import { allergen, applyStatic, language, setLanguage, t, yen } from "./i18n.js";
import { flush, getJSON, heartbeat, session, signedIn, api } from "./net.js";
import { priceOrder } from "./pricing.js";
import { all, put, recall, remember, update, uuid7 } from "./queue.js";

const $ = (id) => document.getElementById(id);
const current = session();
const cart = new Map();  // item id → quantity
const client = sessionStorage.getItem("yadori.client") || uuid7().replaceAll("-", "").slice(-16);
sessionStorage.setItem("yadori.client", client);
let menu = null;
let online = navigator.onLine;
let sending = false;

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function name(thing) { return language() === "ja" ? thing.name_ja : thing.name_en; }

function localTime(timezone) {
  const parts = new Intl.DateTimeFormat("en-GB", { timeZone: timezone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
    .format(new Date());
  return parts;
}

function servedNow(item) {
  if (!item.available_from || !item.available_until) return true;
  const now = localTime(menu.timezone);
  const [from, until] = [item.available_from, item.available_until];
  return from <= until ? from <= now && now < until : now >= from || now < until;
}

function renderMenu() {
  const main = $("menu");
  main.replaceChildren();
  if (!menu) return;
  for (const category of menu.categories) {
    main.append(el("h2", { textContent: name(category) }));
    for (const item of menu.items.filter((i) => i.category_id === category.id)) {
      const open = !item.sold_out && servedNow(item);
      const meta = [];
      if (item.sold_out) meta.push(t("soldOut"));
      else if (!servedNow(item)) meta.push(`${t("hours")} (${item.available_from}–${item.available_until})`);
      if (Number(item.service_charge_rate) > 0) meta.push(`+${Number(item.service_charge_rate) * 100}% ${t("serviceCharge")}`);
      if (item.allergens.length) meta.push(`${t("allergens")}: ${item.allergens.map(allergen).join(", ")}`);
      const add = el("button", { type: "button", textContent: "+", disabled: !open, title: t("add") });
      add.setAttribute("aria-label", `${t("add")} ${name(item)}`);
      add.dataset.item = item.code;
      add.addEventListener("click", () => { cart.set(item.id, (cart.get(item.id) || 0) + 1); renderCart(); });
      main.append(el("div", { className: `item${open ? "" : " unavailable"}` },
        el("div", { className: "info" },
          el("div", { className: "name", textContent: name(item) }),
          el("div", { className: "meta", textContent: meta.join(" · ") })),
        el("div", { className: "price", textContent: yen(item.price) }), add));
    }
  }
}

function cartLines() {
  return [...cart].map(([id, quantity]) => {
    const item = menu.items.find((i) => i.id === id);
    return { item, quantity, unit_price: item.price, service_charge_rate: item.service_charge_rate };
  });
}

const SLOT_MINUTES = 30;

function renderWhen() {
  const select = $("when");
  const chosen = select.value;
  const start = Math.ceil(Date.now() / (SLOT_MINUTES * 60000)) * SLOT_MINUTES * 60000 + SLOT_MINUTES * 60000;
  const format = new Intl.DateTimeFormat(language() === "ja" ? "ja-JP" : "en-GB",
    { timeZone: menu.timezone, hour: "2-digit", minute: "2-digit" });
  const options = [el("option", { value: "", textContent: t("asap") })];
  for (let k = 0; k < 8; k++) {
    const at = new Date(start + k * SLOT_MINUTES * 60000);
    options.push(el("option", { value: at.toISOString(), textContent: format.format(at) }));
  }
  select.replaceChildren(...options);
  if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
}

function renderCart() {
  const lines = cart.size && menu ? cartLines() : [];
  $("cart").hidden = lines.length === 0;
  if (lines.length) renderWhen();
  $("cart-lines").replaceChildren(...lines.map((line) => {
    const less = el("button", { type: "button", textContent: "−", title: t("remove") });
    less.addEventListener("click", () => {
      const left = cart.get(line.item.id) - 1;
      if (left > 0) cart.set(line.item.id, left); else cart.delete(line.item.id);
      renderCart();
    });
    return el("li", {}, el("span", { className: "grow", textContent: `${name(line.item)} × ${line.quantity}` }),
      el("span", { textContent: yen(line.quantity * line.unit_price) }), less);
  }));
  if (!lines.length) return;
  const price = priceOrder(lines, menu.service_charge_rounding);
  $("cart-total").textContent = yen(price.total);
  $("cart-detail").textContent = price.serviceCharge
    ? `${yen(price.items)} + ${t("serviceCharge")} ${yen(price.serviceCharge)} (${t("included")})`
    : `(${t("included")})`;
}

async function placeOrder() {
  if (!cart.size || !menu) return;
  const lines = cartLines();
  const price = priceOrder(lines, menu.service_charge_rounding);
  const id = uuid7();
  await put({
    id, state: "queued", created: new Date().toISOString(), client,
    names: lines.map((l) => ({ ja: l.item.name_ja, en: l.item.name_en, quantity: l.quantity })),
    estimate: price.total,
    body: {
      id, client_id: client, notes: $("notes").value.trim(), estimated_total: price.total,
      deliver_at: $("when").value || null,
      lines: lines.map((l) => ({ item_id: l.item.id, quantity: l.quantity, unit_price: l.unit_price })),
    },
  });
  cart.clear();
  $("notes").value = "";
  renderCart();
  await renderOrders();
  send();
}

async function renderOrders() {
  const orders = await all();
  $("orders").replaceChildren(...orders.slice().reverse().map((order) => {
    const server = order.server;
    const what = order.names.map((n) => `${language() === "ja" ? n.ja : n.en} × ${n.quantity}`).join(", ");
    const state = el("span", { className: `state ${order.state}`, textContent: t(`state_${order.state}`) });
    state.dataset.state = order.state;
    let detail = `${t("estimated")} ${yen(order.estimate)}`;
    if (server) {
      detail = `${server.number} · ${t(`status_${server.status}`)} · ${t("estimated")} ${yen(server.estimated_total)}`
        + ` · ${t("confirmedPrice")} ${yen(server.confirmed_total)} · ${t("youPay")} ${yen(server.charge)}`;
    } else if (order.problem) {
      detail = order.problem.detail || order.problem.title || "";
    }
    const li = el("li", {}, el("span", { className: "grow", textContent: what }, el("small", { textContent: detail })), state);
    li.dataset.order = order.id;
    return li;
  }));
  await renderBanner(orders);
}

async function renderBanner(orders = null) {
  const list = orders || (await all());
  const queued = list.filter((o) => o.state === "queued").length;
  const banner = $("banner");
  const last = list.filter((o) => o.state === "confirmed").at(-1);
  let kind = "online", text = t("online");
  if (!online) { kind = "offline"; text = t("offline"); }
  if (queued) { kind = online ? (sending ? "sent" : "queued") : "offline"; text = (online && sending ? t("sent") : t("queued", queued)); if (!online) text = `${t("offline")} · ${t("queued", queued)}`; }
  else if (last && online) { kind = "confirmed"; text = t("confirmed", yen(last.server.charge)); }
  banner.className = `banner ${kind}`;
  banner.dataset.state = kind;
  banner.dataset.queued = String(queued);
  banner.textContent = text;
}

async function send() {
  if (sending || !current.token) return;
  sending = true;
  try {
    const reached = await flush(current, () => renderBanner(), () => renderOrders(), showSignIn);
    online = reached;
  } finally {
    sending = false;
    await renderOrders();
  }
}

async function refreshStatuses() {
  if (!online || !current.token) return;
  try {
    const server = await getJSON(current, "/orders");
    const byId = new Map(server.map((o) => [o.id, o]));
    for (const order of await all()) {
      const fresh = byId.get(order.id);
      if (fresh && order.state === "confirmed" && fresh.status !== order.server.status) {
        await update(order.id, { server: fresh });
      }
    }
    await renderOrders();
  } catch { /* offline: the next beat tries again */ }
}

async function beat() {
  const reachable = navigator.onLine && (await heartbeat(current));
  const changed = reachable !== online;
  online = reachable;
  if (online && (await all()).some((o) => o.state === "queued")) await send();
  else if (changed) await renderBanner();
  if (online && changed) await loadMenu();
}

async function loadMenu() {
  try {
    menu = await getJSON(current, "/menu");
    await remember("menu", menu);
  } catch (error) {
    if (error.status === 401) return showSignIn();
    menu = menu || (await recall("menu")) || null;
  }
  renderMenu();
  renderCart();
}

async function loadStay() {
  try {
    const stay = await getJSON(current, "/stay");
    await remember("stay", stay);
    return stay;
  } catch (error) {
    if (error.status === 401) { showSignIn(); return null; }
    return recall("stay");
  }
}

function showStay(stay) {
  if (!stay) return;
  $("stay").textContent = `${language() === "ja" ? stay.name_ja : stay.name_en} · ${t("room_label", stay.room_number)}`;
  $("stay").dataset.room = stay.room_number;
}

function showSignIn() {
  $("signin").hidden = false;
  if (!current.code) $("signin-error").textContent = t("noHotel");
}

async function signIn(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const response = await fetch(api(current, "/session"), {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ room: form.get("room"), surname: form.get("surname") }),
  }).catch(() => null);
  if (!response || !response.ok) {
    $("signin-error").textContent = response && response.status === 429 ? t("locked") : t("signinFailed");
    return;
  }
  signedIn(current, (await response.json()).token);
  $("signin").hidden = true;
  await start();
}

let stay = null;
async function start() {
  stay = await loadStay();
  showStay(stay);
  await loadMenu();
  await renderOrders();
  send();
}

function relabel() {
  $("lang").textContent = language() === "ja" ? "EN" : "日本語";
  applyStatic();
  showStay(stay);
  renderMenu();
  renderCart();
  renderOrders();
}

$("lang").addEventListener("click", () => { setLanguage(language() === "ja" ? "en" : "ja"); relabel(); });
$("place").addEventListener("click", placeOrder);
$("signin-form").addEventListener("submit", signIn);
window.addEventListener("online", () => beat());
window.addEventListener("offline", () => { online = false; renderBanner(); });
setLanguage(language());
relabel();

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("sw.js").catch(() => undefined);
  navigator.serviceWorker.addEventListener("controllerchange", () => loadMenu());
}
if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => undefined);

if (current.token) start(); else showSignIn();
setInterval(beat, 3000);
setInterval(refreshStatuses, 10000);
window.yadori = { ready: true };
