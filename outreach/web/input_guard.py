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
MULTIPART = "multipart/form-data"


def refuse_malformed_input() -> None:
    """Answer 414, 413 or 400 for a request no client of ours would send; else do nothing."""
    query = request.query_string
    if len(query) > MAX_QUERY_BYTES:
        abort(414)
    texts = [_decoded(query), request.path]
    if request.mimetype == FORM:
        texts.append(_decoded(_read_body()))
    else:
        _read_body()  # a chunked body of another type is still held to the size limit
        if request.mimetype == MULTIPART:
            texts.extend(_multipart_fields())
    # Decoded whole, a query or form holds a NUL exactly when one of its names or values does.
    if any(text is None or "\0" in text for text in texts):
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


def _decoded(encoded: bytes) -> str | None:
    """A query string or url-encoded form as the text its fields decode to; None if not UTF-8.

    Done on the raw bytes, once, because walking the parsed fields through Flask's request
    proxy cost a webhook more than its database statement."""
    try:
        return unquote_to_bytes(encoded.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return None


def _multipart_fields() -> Iterator[str]:
    for key, value in request.form.items(multi=True):
        yield key
        yield value
