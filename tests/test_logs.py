"""The log redactor: credentials and configured secrets never reach a log line."""

from __future__ import annotations

import io
import json
import logging

from app.logs import Redactor, configure_logging, get_logger

TOKEN = "ghs_" + "A1b2C3d4E5" * 4
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiI0MiJ9.c2lnbmF0dXJlLXBhcnQ"


def test_known_credential_formats_are_scrubbed() -> None:
    redactor = Redactor(["my-webhook-secret"])
    text = (
        f"token {TOKEN} jwt {JWT} https://x-access-token:{TOKEN}@github.com/a/b.git "
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz secret=my-webhook-secret "
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----"
    )
    scrubbed = redactor.scrub(text)
    for leaked in (TOKEN, JWT, "github_pat_11", "my-webhook-secret", "MIIEow"):
        assert leaked not in scrubbed
    assert redactor.scrub({"Authorization": "whatever"}) == {"Authorization": "[redacted]"}
    assert redactor.scrub("a token of appreciation") == "a token of appreciation"


def test_log_lines_are_json_with_bound_context_and_no_secrets() -> None:
    buffer = io.StringIO()
    configure_logging("info", "json", ["my-webhook-secret"])
    root = logging.getLogger()
    root.handlers[0].setStream(buffer)  # type: ignore[attr-defined]
    try:
        import structlog

        with structlog.contextvars.bound_contextvars(delivery_id="d-1", repository="o/r"):
            get_logger("test").warning("using", token=TOKEN, note="my-webhook-secret")
            logging.getLogger("aiohttp.client").error("failed with %s", TOKEN)
            try:
                raise RuntimeError(f"bad credentials {TOKEN}")
            except RuntimeError:
                get_logger("test").exception("boom")
    finally:
        configure_logging("info", "json")
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert [line["message"] for line in lines] == ["using", "failed with [redacted]", "boom"]
    assert all(line["delivery_id"] == "d-1" for line in lines)
    assert TOKEN not in buffer.getvalue()
    assert "my-webhook-secret" not in buffer.getvalue()
