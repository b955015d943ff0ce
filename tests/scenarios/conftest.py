"""Fixtures of the seed programs' scenarios: the application's runtime on the test's
database, with a channel that keeps what the scheduler sent."""

from __future__ import annotations

import pytest
from flask import Flask

from outreach.runtime import Runtime, runtime
from tests.fakes import RecordingChannel


@pytest.fixture
def channel(app: Flask) -> RecordingChannel:
    recording = RecordingChannel()
    runtime(app).channel = recording
    return recording


@pytest.fixture
def rt(app: Flask, channel: RecordingChannel) -> Runtime:
    return runtime(app)
