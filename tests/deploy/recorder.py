"""Record every AWS call the code makes, from botocore itself, so the list cannot drift from the code.

``record_calls()`` wraps botocore's ``Session.create_client``: every client made while it is
active (boto3.client, a boto3 Session, PyAthena's own session) gets a ``before-parameter-build``
hook that logs service, operation, the API parameters and the region (``before-call`` would see
the serialized request instead), and an ``after-call`` hook that keeps the parsed response (IAM
authorizes ``GetAccessKeyLastUsed`` on the key's owner, which only the answer names).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import botocore.session


@dataclass
class Call:
    service: str  # the IAM service prefix (the signing name: s3, athena, glue, iam, ...)
    operation: str
    params: dict[str, Any]
    region: str | None
    response: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return f"{self.service}:{self.operation}"


@contextlib.contextmanager
def record_calls(answers: dict[str, dict[str, Any]] | None = None) -> Iterator[list[Call]]:
    """Record every call; ``answers`` ({"cloudtrail:ListPublicKeys": parsed response}) answers the
    calls moto does not implement, after recording them (a ``before-call`` reply skips the request)."""
    calls: list[Call] = []
    answers = answers or {}
    original = botocore.session.Session.create_client

    def create_client(self: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        region = client.meta.region_name

        def before(model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            call = Call(model.service_model.signing_name, model.name, dict(params), region)
            context["recorded_call"] = call
            calls.append(call)

        def answer(model: Any, **_: Any) -> tuple[Any, dict[str, Any]] | None:
            reply = answers.get(f"{model.service_model.signing_name}:{model.name}")
            if reply is None:
                return None
            http = type("Reply", (), {"status_code": 200, "headers": {}})()
            return http, {"ResponseMetadata": {"HTTPStatusCode": 200}, **reply}

        def after(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            if "recorded_call" in context:
                context["recorded_call"].response = parsed

        client.meta.events.register("before-parameter-build", before)
        client.meta.events.register("before-call", answer)
        client.meta.events.register("after-call", after)
        return client

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        botocore.session.Session.create_client = original  # type: ignore[method-assign]
