"""Twilio's request signature, checked against the exact public URL Twilio called."""

from __future__ import annotations

import hmac

from flask import Request
from twilio.request_validator import RequestValidator


def public_url_of(public_url: str, request: Request) -> str:
    """Rebuild the URL Twilio signed: the configured public base, the path, the raw query."""
    query = request.query_string.decode("ascii", "replace")
    return f"{public_url}{request.path}" + (f"?{query}" if query else "")


def signature_is_valid(token: str, public_url: str, request: Request) -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    url = public_url_of(public_url, request)
    if request.is_json:
        # Twilio signs a JSON body through the bodySHA256 it puts in the URL; without one the
        # SDK would take the body for form fields and fail, so such a request is refused.
        if "bodySHA256" not in request.args:
            return False
        return bool(
            RequestValidator(token).validate(url, request.get_data(as_text=True), signature)
        )
    validator, fields = RequestValidator(token), request.form
    # Twilio signs the URL exactly as we gave it, so that is tried first, with one HMAC; the
    # SDK's full check (the URL with and without its port as well) decides any other case.
    computed = validator.compute_signature(url, fields).encode("ascii")
    if hmac.compare_digest(computed, signature.encode("utf-8", "replace")):
        return True
    return bool(validator.validate(url, fields, signature))
