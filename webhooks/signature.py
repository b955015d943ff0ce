"""Twilio's request signature, checked against the exact public URL Twilio called."""

from __future__ import annotations

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
    return bool(RequestValidator(token).validate(url, request.form.to_dict(), signature))
