// Japanese and English strings of the page. The language is the guest's choice, remembered.
const STRINGS = {
  ja: {
    title: "ルームサービス", signin: "お部屋番号とお名前（姓）でご利用ください", room: "お部屋番号",
    surname: "姓", enter: "入る", cart: "ご注文内容", notes: "ご要望", estimate: "お見積り",
    place: "注文する", orders: "ご注文履歴", add: "追加", remove: "減らす",
    online: "ご注文いただけます", offline: "オフライン：ご注文はこの端末に保存され、接続が戻ると送信されます",
    queued: (n) => `送信待ち ${n} 件（接続が戻ると自動で送信します）`, sent: "送信済み：確認中",
    confirmed: (p) => `ご注文を承りました：確定金額 ${p}`, soldOut: "売り切れ", hours: "提供時間外",
    allergens: "アレルゲン", serviceCharge: "サービス料", state_queued: "送信待ち", state_sent: "送信済み",
    state_confirmed: "受付済み", state_rejected: "受付不可", status_accepted: "受付", status_preparing: "調理中",
    status_delivering: "お届け中", status_delivered: "お届け済み", status_cancelled: "キャンセル",
    estimated: "見積", confirmedPrice: "確定", youPay: "お支払い", room_label: (r) => `${r} 号室`,
    signinFailed: "お部屋番号またはお名前が違います", locked: "試行回数が多すぎます。しばらくしてからお試しください",
    included: "税込", persist: "", deliverAt: "お届け時間", asap: "できるだけ早く",
    noHotel: "お部屋の QR コードからこのページを開いてください",
  },
  en: {
    title: "Room service", signin: "Sign in with your room number and surname", room: "Room number",
    surname: "Surname", enter: "Enter", cart: "Your order", notes: "Requests", estimate: "Estimate",
    place: "Place order", orders: "Your orders", add: "Add", remove: "Remove",
    online: "Ready to take your order", offline: "Offline: orders are kept on this device and sent when the connection returns",
    queued: (n) => `${n} waiting to be sent (sent automatically when the connection returns)`,
    sent: "Sent: awaiting confirmation", confirmed: (p) => `Order received: confirmed price ${p}`,
    soldOut: "Sold out", hours: "Not served now", allergens: "Allergens", serviceCharge: "service charge",
    state_queued: "Queued", state_sent: "Sent", state_confirmed: "Received", state_rejected: "Refused",
    status_accepted: "Accepted", status_preparing: "Preparing", status_delivering: "On its way",
    status_delivered: "Delivered", status_cancelled: "Cancelled", estimated: "Estimate",
    confirmedPrice: "Confirmed", youPay: "You pay", room_label: (r) => `Room ${r}`,
    signinFailed: "Room number or surname not recognised", locked: "Too many attempts: please wait a few minutes",
    included: "tax incl.", persist: "", deliverAt: "Delivery time", asap: "As soon as possible",
    noHotel: "Open this page from the QR code in your room",
  },
};

// The allergens Japanese law requires on labels (特定原材料), by the menu's codes.
const ALLERGENS_JA = {
  egg: "卵", milk: "乳", wheat: "小麦", buckwheat: "そば", peanut: "落花生", shrimp: "えび",
  crab: "かに", walnut: "くるみ", soy: "大豆", sesame: "ごま",
};

export function allergen(code) { return lang === "ja" ? ALLERGENS_JA[code] || code : code; }

let lang = localStorage.getItem("yadori.lang") || (navigator.language.startsWith("ja") ? "ja" : "en");

export function language() { return lang; }

export function setLanguage(next) {
  lang = next === "en" ? "en" : "ja";
  localStorage.setItem("yadori.lang", lang);
  document.documentElement.lang = lang;
}

export function t(key, ...args) {
  const value = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return typeof value === "function" ? value(...args) : value;
}

export function yen(amount) {
  return lang === "ja" ? `${amount.toLocaleString("ja-JP")}円` : `¥${amount.toLocaleString("en-US")}`;
}

export function applyStatic(root = document) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
}
