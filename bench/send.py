"""bench/send: 1,000 SMS through the pacing layer and the real Twilio SDK (recorded, offline).

Prints the configured rate, the achieved rate, and the largest burst: the most sends in any
one-second window, which must never exceed the configured rate. The baseline, measured in
the same run, is the same sends with pacing off, so the ratio shows what pacing costs.

    .venv/bin/python bench/send.py [--rate 100] [--messages 1000]
"""

from __future__ import annotations

import argparse
import bisect
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from outreach.channels.base import Callbacks, Sms
from outreach.channels.pacing import Pacer
from outreach.channels.twilio import TwilioChannel, make_client
from tests.fakes import RecordingHttpClient

LINKS = Callbacks("https://outreach.example.org", "bench")


def run(rate: float, messages: int, *, paced: bool) -> list[float]:
    """Send through the real SDK; answer the moments each request reached the HTTP layer."""
    http = RecordingHttpClient()
    pacer = Pacer(rate) if paced else Pacer(1e9)
    channel = TwilioChannel(make_client("AC" + "0" * 32, "token", http_client=http), pacer)
    for n in range(messages):
        channel.send_sms(Sms("+14045550123", "+15550100100", f"message {n}", LINKS))
    return [request.at for request in http.requests]


def largest_burst(stamps: list[float], window: float) -> int:
    return max(bisect.bisect_left(stamps, t + window) - i for i, t in enumerate(stamps))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="messages per second")
    parser.add_argument("--messages", type=int, default=1000)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    bare = run(args.rate, args.messages, paced=False)
    paced = run(args.rate, args.messages, paced=True)
    bare_rate = (len(bare) - 1) / (bare[-1] - bare[0])
    achieved = (len(paced) - 1) / (paced[-1] - paced[0])
    burst = largest_burst(paced, 1.0)
    print(f"messages            {args.messages}")
    print(f"configured rate     {args.rate:10.2f} /s")
    print(f"achieved rate       {achieved:10.2f} /s  ({100 * (achieved / args.rate - 1):+.2f}%)")
    print(f"largest burst       {burst:10d} in any 1 s window (limit {int(args.rate)})")
    print(f"unpaced baseline    {bare_rate:10.2f} /s  (SDK + recording client only)")
    print(f"pacing headroom     {bare_rate / args.rate:10.1f}x  (baseline / configured)")
    ok = burst <= args.rate and abs(achieved / args.rate - 1) <= 0.05
    print("result              " + ("within 5% and never above" if ok else "OUT OF BOUNDS"))


if __name__ == "__main__":
    main()
