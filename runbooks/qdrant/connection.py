"""Reaching Qdrant: the address (service table, `QDRANT_URL` override) and retries (seed 004 knobs).

Every call goes through `Qdrant.call`, a tenacity retry with the stack's QDRANT_MAX_RETRIES /
QDRANT_RETRY_MIN_WAIT / QDRANT_RETRY_MAX_WAIT: connection failures and 502/503/504 (a restarting
Qdrant) are retried with exponential backoff; anything else fails at once. When the retries are
spent the operator gets one line naming the address, never a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlparse

from runbooks.qdrant.errors import QdrantError, QdrantUnreachable

if TYPE_CHECKING:
    import httpx
    from qdrant_client import QdrantClient

    from infra.spec.model import Platform, Tuning

T = TypeVar("T")
RETRY_STATUS = (502, 503, 504)


def _override(env: str, what: str) -> str | None:
    value = os.environ.get(env, "").strip()
    if not value:
        return None
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise QdrantError(f"{env}={value!r} is not an http(s) URL of {what}; e.g. {env}=http://127.0.0.1:6333")
    return value.rstrip("/")


def service_address(platform: Platform, service: str, env: str) -> str:
    """`env` if set (a port-forward, a test), else the service's published address in the table."""
    override = _override(env, service)
    if override:
        return override
    try:
        return platform.url(platform.service(service))
    except KeyError:
        raise QdrantError(
            f"service {service!r} is not enabled in stack {platform.stack!r}; enable it in "
            f"stacks/Pulumi.{platform.stack}.yaml or set {env} to its address"
        ) from None


def qdrant_address(platform: Platform) -> str:
    return service_address(platform, "qdrant", "QDRANT_URL")


def rag_address(platform: Platform) -> str:
    return service_address(platform, "rag", "RAG_URL")


@dataclass(frozen=True)
class RetryPolicy:
    """The seed's retry knobs: attempts = retries + 1, waits exponential between min and max."""

    max_retries: int = 3
    min_wait_s: float = 2
    max_wait_s: float = 10

    @classmethod
    def from_tuning(cls, tuning: Tuning) -> RetryPolicy:
        return cls(tuning.QDRANT_MAX_RETRIES, tuning.QDRANT_RETRY_MIN_WAIT, tuning.QDRANT_RETRY_MAX_WAIT)

    @property
    def attempts(self) -> int:
        return self.max_retries + 1


def _status_of(err: BaseException) -> int | None:
    import httpx
    from qdrant_client.http.exceptions import UnexpectedResponse

    if isinstance(err, UnexpectedResponse):
        return err.status_code
    if isinstance(err, httpx.HTTPStatusError):
        return err.response.status_code
    return None


def _transport_error(err: BaseException) -> BaseException | None:
    """The connection-level cause (refused, timeout, reset), if that is what `err` is."""
    import httpx
    from qdrant_client.http.exceptions import ResponseHandlingException

    if isinstance(err, httpx.TransportError):
        return err
    if isinstance(err, ResponseHandlingException) and isinstance(err.source, httpx.TransportError):
        return err.source
    return None


def retryable(err: BaseException) -> bool:
    return _transport_error(err) is not None or _status_of(err) in RETRY_STATUS


def error_message(err: BaseException) -> str:
    """Qdrant's own error text (`status.error` of its ErrorResponse) when there is one."""
    import json

    from qdrant_client.http.exceptions import UnexpectedResponse

    body: bytes | str | None = None
    if isinstance(err, UnexpectedResponse):
        body = err.content
    elif hasattr(err, "response") and getattr(err, "response", None) is not None:
        try:
            body = err.response.content
        except Exception:
            body = None
    if body:
        try:
            return str(json.loads(body)["status"]["error"])
        except (ValueError, KeyError, TypeError):
            return body.decode(errors="replace")[:300] if isinstance(body, bytes) else str(body)[:300]
    cause = _transport_error(err) or err
    return f"{type(cause).__name__}: {cause}"


class Qdrant:
    """One Qdrant server: the official client for the API, httpx for streaming snapshot files."""

    def __init__(self, url: str, retry: RetryPolicy, timeout_s: float = 30, transfer_timeout_s: float = 900) -> None:
        self.url = url.rstrip("/")
        self.retry = retry
        self.timeout_s = timeout_s
        self.transfer_timeout_s = transfer_timeout_s
        self._client: QdrantClient | None = None
        self._http: httpx.Client | None = None

    @classmethod
    def for_platform(cls, platform: Platform) -> Qdrant:
        return cls(
            qdrant_address(platform),
            RetryPolicy.from_tuning(platform.tuning),
            timeout_s=platform.tuning.QDRANT_TIMEOUT,
            transfer_timeout_s=platform.backup.snapshot_timeout_s,
        )

    @property
    def client(self) -> QdrantClient:
        if self._client is None:
            from qdrant_client import QdrantClient

            # No background version probe: health() checks the server explicitly.
            self._client = QdrantClient(url=self.url, timeout=int(self.timeout_s), check_compatibility=False)
        return self._client

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            import httpx

            timeout = httpx.Timeout(self.transfer_timeout_s, connect=self.timeout_s)
            self._http = httpx.Client(base_url=self.url, timeout=timeout)
        return self._http

    def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(*args)` with the seed's retries; failures become one QdrantError line naming `what`."""
        from tenacity import RetryError, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

        retrying = Retrying(
            stop=stop_after_attempt(self.retry.attempts),
            wait=wait_exponential(min=self.retry.min_wait_s, max=self.retry.max_wait_s),
            retry=retry_if_exception(retryable),
            reraise=False,
        )
        try:
            return retrying(fn, *args, **kwargs)
        except RetryError as err:
            last = err.last_attempt.exception()
            assert last is not None
            raise self._failure(what, last, self.retry.attempts) from None
        except QdrantError:
            raise
        except Exception as err:
            raise self._failure(what, err, 1) from None

    def _failure(self, what: str, err: BaseException, attempts: int) -> QdrantError:
        tries = f"after {attempts} attempt{'s' if attempts > 1 else ''} (QDRANT_MAX_RETRIES={self.retry.max_retries})"
        if _transport_error(err) is not None:
            return QdrantUnreachable(
                f"Qdrant at {self.url} is unreachable: {what} failed {tries}: {error_message(err)}; "
                "check that qdrant runs (invoke runbook.health) or set QDRANT_URL"
            )
        status = _status_of(err)
        if status is not None:
            where = f" {tries}" if status in RETRY_STATUS else ""
            return QdrantError(f"{what}: Qdrant at {self.url} answered {status}{where}: {error_message(err)}")
        return QdrantError(f"{what}: {type(err).__name__}: {err} (Qdrant at {self.url})")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._http is not None:
            self._http.close()

    def __enter__(self) -> Qdrant:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
