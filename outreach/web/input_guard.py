"""Refuse, before any view reads it, input that no browser, program system or Twilio sends.

Pages, the API and the webhooks all pass here first. An absurdly long query string answers
414; a url-encoded form over MAX_FORM_MEMORY_SIZE (Werkzeug applies that limit to multipart
forms only) and a chunked body that reaches MAX_CONTENT_LENGTH (Werkzeug would quietly cut
it short) answer 413; percent-encoded bytes that are not UTF-8 (Werkzeug would quietly turn
them into U+FFFD) and NUL characters (PostgreSQL refuses to store them) answer 400. The
answer is the usual generic error page or JSON, so nothing that was sent is echoed back.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import unquote_to_bytes

from flask import abort, request

# Far above any link this application builds (a page number, a date, a task filter).
MAX_QUERY_BYTES = 4096
FORM = "application/x-www-form-urlencoded"


def refuse_malformed_input() -> None:
    """Answer 414, 413 or 400 for a request no client of ours would send; else do nothing."""
    if len(request.query_string) > MAX_QUERY_BYTES:
        abort(414)
    body = _read_body()
    if not _is_utf8(request.query_string) or (request.mimetype == FORM and not _is_utf8(body)):
        abort(400)
    if any("\0" in text for text in _texts()):
        abort(400)


def _read_body() -> bytes:
    """Read a form or a chunked body once, cached for the view, checking its size; else b""."""
    chunked = request.content_length is None and "wsgi.input_terminated" in request.environ
    if not chunked and request.mimetype != FORM:
        return b""
    body = request.get_data(cache=True)
    too_long = request.max_content_length
    if chunked and too_long is not None and len(body) >= too_long:
        abort(413)
    form_limit = request.max_form_memory_size
    if request.mimetype == FORM and form_limit is not None and len(body) > form_limit:
        abort(413)
    return body


def _is_utf8(encoded: bytes) -> bool:
    try:
        unquote_to_bytes(encoded.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _texts() -> Iterator[str]:
    yield request.path
    for pairs in (request.args, request.form):
        for key, value in pairs.items(multi=True):
            yield key
            yield value
