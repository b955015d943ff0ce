"""A health check for operators and load balancers: says whether the database answers."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from outreach.runtime import runtime

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    with runtime().session() as session:
        session.execute(text("SELECT 1"))
    return jsonify(status="ok")
