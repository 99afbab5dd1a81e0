"""`yadori status`: the edge's sync state as a table, in Japanese or English."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

# Each label as (Japanese, English).
LANES = {
    "0": ("入金・売上", "payments"),
    "1": ("チェックイン・アウト", "stays"),
    "2": ("客室状態", "room status"),
    "3": ("注文", "orders"),
    "4": ("ログ", "logs"),
}
LINK = {
    "online": ("オンライン", "online"),
    "offline": ("オフライン", "offline"),
    "recovering": ("復旧中", "recovering"),
}
FIELDS = {
    "pending": ("未送信の操作", "pending"),
    "oldest_pending": ("最も古い未送信", "oldest pending"),
    "oldest_pending_age_s": ("最も古い未送信の経過秒", "oldest pending age (s)"),
    "last_push_ok": ("最後の送信成功", "last push ok"),
    "last_pull_ok": ("最後の受信成功", "last pull ok"),
    "skew_ms": ("本部との時刻差 (ms)", "skew ms"),
    "round_trip_ms": ("往復時間 (ms)", "round trip ms"),
    "heartbeat_timeout_ms": ("ハートビート待ち時間 (ms)", "heartbeat timeout ms"),
    "open_tickets": ("未解決の競合チケット", "open tickets"),
    "last_error": ("最後のエラー", "last error"),
    "outage_started": ("回線障害の開始", "outage started"),
}
WORDS = {
    "none": ("このノードに同期はありません", "no sync on this node"),
    "link": ("回線", "link"),
    "since": ("から", "since"),
    "title": ("同期", "sync"),
    "what": ("項目", "what"),
    "value": ("値", "value"),
    "queue": ("待ち行列", "queue"),
    "rejected mutations": ("本部が拒否した操作", "rejected mutations"),
    "rejected": ("拒否", "rejected"),
    "alert": ("警報", "alert"),
}
ALERTS_SHOWN = 5  # the latest; GET /sync/status lists 20
LANGUAGES = ("ja", "en")


def show_status(console: Console, status: dict[str, object], lang: str = "en") -> None:
    """Print the sync state an edge reports at /sync/status, in ``lang`` (ja or en)."""
    at = LANGUAGES.index(lang) if lang in LANGUAGES else 1

    def say(word: str) -> str:
        return WORDS[word][at]

    if status.get("sync") == "none" or "link" not in status:
        console.print(f"{say('none')} ({status.get('code') or status.get('role')})")
        return
    link = str(status["link"])
    colour = {"online": "green", "recovering": "yellow"}.get(link, "red")
    shown_link = LINK.get(link, (link, link))[at]
    since = f"{status['since']} {say('since')}" if at == 0 else f"since {status['since']}"
    console.print(f"{say('link')}: [{colour}]{shown_link}[/{colour}] {since}")
    table = Table(title=say("title"))
    table.add_column(say("what"))
    table.add_column(say("value"), justify="right")
    queue = status.get("queue") or {}
    assert isinstance(queue, dict)  # noqa: S101 - the status schema
    for lane, count in sorted(queue.items()):
        table.add_row(f"{say('queue')}: {LANES.get(lane, (lane, lane))[at]}", str(count))
    for name, labels in FIELDS.items():
        table.add_row(labels[at], str(status.get(name)))
    rejected = status.get("rejected") or []
    assert isinstance(rejected, list)  # noqa: S101 - the status schema
    total = status.get("rejected_total")
    count = total if isinstance(total, int) else len(rejected)
    table.add_row(say("rejected mutations"), str(count))
    console.print(table)
    for item in rejected[:10]:  # their text is the data's, never markup
        console.print(f"[red]{say('rejected')}[/red] {escape(str(item))}")
    alerts = status.get("alerts") or []
    assert isinstance(alerts, list)  # noqa: S101 - the status schema
    for alert in alerts[:ALERTS_SHOWN]:  # newest first
        assert isinstance(alert, dict)  # noqa: S101 - the status schema
        told = f"{alert.get('at')} {alert.get('kind')}: {alert.get('message')}"
        console.print(f"[yellow]{say('alert')}[/yellow] {escape(told)}", highlight=False)
