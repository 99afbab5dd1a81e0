"""The edge's HTTP client to central: push, pull and heartbeat, with errors translated."""

from __future__ import annotations

import httpx2

from yadori.sync.canonical import JSON
from yadori.sync.errors import BatchRefused, LinkDown, SyncRefused
from yadori.sync.protocol import CONTENT_TYPE, CRC_HEADER

PUSH = "/sync/v1/push"
PULL = "/sync/v1/pull"
HEARTBEAT = "/sync/v1/heartbeat"


class HttpTransport:
    """Talks to central over one keep-alive HTTP client."""

    def __init__(
        self, base_url: str, *, timeout: float = 10.0, heartbeat_timeout: float = 0.4
    ) -> None:
        self._client = httpx2.Client(base_url=base_url, timeout=timeout)
        self._heartbeat_timeout = heartbeat_timeout

    def close(self) -> None:
        """Close the connections."""
        self._client.close()

    def abort(self) -> None:
        """The link is down: fail every call in flight now, instead of at its timeout."""
        old, self._client = (
            self._client,
            httpx2.Client(base_url=self._client.base_url, timeout=self._client.timeout),
        )
        old.close()

    def push(self, body: bytes, crc: int) -> dict[str, JSON]:
        """Send a compressed batch; central's answer (results per mutation)."""
        headers = {"Content-Type": CONTENT_TYPE, CRC_HEADER: str(crc)}
        return self._call("POST", PUSH, content=body, headers=headers)

    def pull(self, params: dict[str, str | int]) -> dict[str, JSON]:
        """Ask for changes since a cursor and results of this edge's mutations."""
        return self._call("GET", PULL, params=params)

    def heartbeat(self, origin: str) -> dict[str, JSON]:
        """A quick call that also tests this edge's credentials (with staff login, later)."""
        return self._call(
            "GET", HEARTBEAT, params={"origin": origin}, timeout=self._heartbeat_timeout
        )

    def _call(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str | int] | None = None,
        timeout: float | None = None,
    ) -> dict[str, JSON]:
        try:
            response = self._client.request(
                method,
                path,
                content=content,
                headers=headers,
                params=params,
                timeout=timeout if timeout is not None else self._client.timeout,
            )
        except httpx2.HTTPError as exc:  # connect errors, timeouts, broken connections
            raise LinkDown(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500:
            raise LinkDown(f"{method} {path}: central answered {response.status_code}")
        try:
            answer = response.json()
        except ValueError as exc:
            raise LinkDown(f"{method} {path}: an answer that is not JSON") from exc
        if not isinstance(answer, dict):
            raise LinkDown(f"{method} {path}: an answer that is not a JSON object")
        if response.status_code >= 400:
            if answer.get("code") == "batch_corrupt":
                raise BatchRefused(str(answer.get("detail")))
            raise SyncRefused(f"{method} {path}: {answer.get('code')}: {answer.get('detail')}")
        return answer
