// Talking to the edge: the guest's session, the API, the heartbeat, and sending the queue.
import { unsent, update } from "./queue.js";

const SESSION = "yadori.session";

export function session() {
  const hash = new URLSearchParams(location.hash.slice(1));
  const saved = JSON.parse(localStorage.getItem(SESSION) || "{}");
  const code = hash.get("p") || saved.code || "";
  const token = hash.get("t") || (code === saved.code ? saved.token : "") || "";
  if (hash.has("p") || hash.has("t")) history.replaceState(null, "", location.pathname);
  const current = { code, token };
  localStorage.setItem(SESSION, JSON.stringify(current));
  return current;
}

export function signedIn(current, token) {
  current.token = token;
  localStorage.setItem(SESSION, JSON.stringify(current));
}

export function api(current, path) {
  return `/guest/v1/${encodeURIComponent(current.code)}${path}`;
}

export function headers(current, json = false) {
  const h = { Authorization: `Bearer ${current.token}` };
  if (json) h["Content-Type"] = "application/json";
  return h;
}

export async function getJSON(current, path) {
  const response = await fetch(api(current, path), { headers: headers(current) });
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    throw Object.assign(new Error(problem.detail || response.statusText), { status: response.status, problem });
  }
  return response.json();
}

export async function heartbeat(current) {
  try {
    const response = await fetch(api(current, "/heartbeat"), { cache: "no-store" });
    return response.ok;
  } catch {
    return false;
  }
}

const RETRY = new Set([408, 429]);

// Send every queued order, oldest first, until one cannot be sent. The edge answers a resent
// order (same id) with the order it already has, so an order reaches it exactly once however
// often it is sent. Tabs take turns (Web Locks), so two open tabs do not send the same order
// at the same moment. An order refused for good (409, 422 …) is kept as rejected with the
// edge's reason; one refused for want of a valid guest token stays queued until the guest signs
// in again. Returns whether the edge could be reached.
export async function flush(current, onSending, onChange, onSignIn) {
  const send = async () => {
    for (const order of await unsent()) {
      onSending(order);
      let response;
      try {
        response = await fetch(api(current, "/orders"), {
          method: "POST", headers: headers(current, true), body: JSON.stringify(order.body), cache: "no-store",
        });
      } catch {
        return false;
      }
      if (response.status === 401) {  // the link is no longer valid: keep the order, ask again
        onSignIn();
        return true;
      }
      if (response.ok) {
        await update(order.id, { state: "confirmed", server: await response.json() });
      } else if (response.status >= 500 || RETRY.has(response.status)) {
        return false;
      } else {
        await update(order.id, { state: "rejected", problem: await response.json().catch(() => ({})) });
      }
      onChange();
    }
    return true;
  };
  if (navigator.locks) return navigator.locks.request("yadori-guest-send", send);
  return send();
}
