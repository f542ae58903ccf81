"""Bind a test double to a published OpenAPI spec: every request and every answer is checked.

A double that answers what the real server would never answer makes tests lie. openapi-core
validates each request the code under test sends and each response the double gives against the
spec; a mismatch is recorded as a violation (and answered 400/500), and the test fixtures fail the
test on any violation, so a double that drifts from the real API fails its own tests.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from pathlib import Path

from werkzeug.wrappers import Request, Response

from tests.support.shared_schemas import SCHEMAS, require

QDRANT_SPEC = SCHEMAS / "qdrant" / "openapi-v1.19.json"


@functools.cache
def load_spec(path: Path = QDRANT_SPEC):  # -> openapi_core.OpenAPI
    """Parse the spec once per process (≈0.5-1 s): doubles share the parsed object; SchemaMissing
    when it is not on this machine (the double cannot be bound to it)."""
    from openapi_core import OpenAPI

    return OpenAPI.from_file_path(str(require(path, "Qdrant's published OpenAPI spec")))


@dataclass
class Violation:
    """One request or response that the spec does not allow."""

    kind: str  # "request" | "response"
    method: str
    path: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind} {self.method} {self.path}: {self.detail}"


@dataclass
class SpecGuard:
    """Validates request/response pairs against the spec and keeps the violations."""

    spec: object
    violations: list[Violation] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check_request(self, request: Request) -> str | None:
        from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest

        result = self.spec.unmarshal_request(WerkzeugOpenAPIRequest(request))
        if not result.errors:
            return None
        detail = "; ".join(_describe(e) for e in result.errors)
        self._record(Violation("request", request.method, request.full_path.rstrip("?"), detail))
        return detail

    def check_response(self, request: Request, response: Response) -> str | None:
        from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse

        result = self.spec.unmarshal_response(WerkzeugOpenAPIRequest(request), WerkzeugOpenAPIResponse(response))
        if not result.errors:
            return None
        detail = "; ".join(_describe(e) for e in result.errors)
        self._record(Violation("response", request.method, request.full_path.rstrip("?"), detail))
        return detail

    def _record(self, violation: Violation) -> None:
        with self._lock:
            self.violations.append(violation)

    def take(self) -> list[Violation]:
        """The violations so far, cleared (tests that provoke one on purpose consume it)."""
        with self._lock:
            out, self.violations = self.violations, []
        return out


def _describe(err: Exception) -> str:
    """openapi-core nests the useful message (the failing schema rule) in the cause chain."""
    parts = [str(err)]
    cause = err.__cause__
    while cause is not None:
        parts.append(str(cause))
        cause = cause.__cause__
    inner = getattr(err, "schema_errors", None)
    if inner:
        parts.extend(str(getattr(e, "message", e)) for e in inner)
    return " <- ".join(dict.fromkeys(p for p in parts if p))
