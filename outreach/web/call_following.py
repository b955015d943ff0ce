"""The task page following the liaison's call as it happens (issue 22 item 2).

The page polls this small JSON answer from a same-origin script (static/call_progress.js;
the CSP allows no inline code) and shows each stage in words, then the outcome form when a
person answered. The answer holds words and states only, never a name or a number (S10).
"""

from __future__ import annotations

import uuid

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from outreach.services.attempts import call_progress, claimed_work
from outreach.web.common import actor, db, now, staff
from outreach.web.language import service_sentences

bp = Blueprint("call_following", __name__)


@bp.get("/tasks/<uuid:task_id>/calls/<uuid:call_id>/progress")
@staff
def progress(task_id: uuid.UUID, call_id: uuid.UUID) -> ResponseReturnValue:
    found = call_progress.call_progress(db(), actor(), task_id=task_id, call_id=call_id, now=now())
    answer = found.as_json(claimed_work.task_zone(db(), task_id))
    answer["words"] = service_sentences.say(
        answer["words"]
    )  # in the liaison's language (issue 22 item 8)
    response = jsonify(answer)
    response.headers["Cache-Control"] = "no-store"
    return response
