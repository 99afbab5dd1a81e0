// The estimate, computed exactly as the PMS prices an order (domain/roomservice.py:price_order):
// integer yen; the service charge taken on the tax-included amount of each service-charge rate,
// summed per rate and rounded once per rate, in the property's rounding. Never floating point:
// a rate such as "0.10" becomes the fraction 10/100 and everything stays in BigInt.

function fraction(rate) {
  const [whole, frac = ""] = String(rate).split(".");
  const den = 10n ** BigInt(frac.length);
  return [BigInt(whole || "0") * den + BigInt(frac || "0"), den];
}

function divide(num, den, rounding) {
  const q = num / den, r = num % den;  // num, den >= 0
  if (r === 0n) return q;
  if (rounding === "ceiling") return q + 1n;
  if (rounding === "half_up") return 2n * r >= den ? q + 1n : q;
  if (rounding === "half_even") {
    if (2n * r > den) return q + 1n;
    if (2n * r < den) return q;
    return q % 2n === 0n ? q : q + 1n;
  }
  return q;  // floor
}

// "0.10" and "0.1" are one rate (the bill groups by value, not by spelling).
function rateKey(rate) {
  const [whole, frac = ""] = String(rate).split(".");
  const trimmed = frac.replace(/0+$/, "");
  return `${BigInt(whole || "0")}${trimmed ? `.${trimmed}` : ""}`;
}

export function priceOrder(lines, rounding = "floor") {
  const byRate = new Map();
  let items = 0n;
  for (const line of lines) {
    const amount = BigInt(line.quantity) * BigInt(line.unit_price);
    items += amount;
    const key = rateKey(line.service_charge_rate);
    byRate.set(key, (byRate.get(key) ?? 0n) + amount);
  }
  let service = 0n;
  for (const [rate, amount] of byRate) {
    const [num, den] = fraction(rate);
    service += divide(amount * num, den, rounding);
  }
  return { items: Number(items), serviceCharge: Number(service), total: Number(items + service) };
}
