"""What every race test asserts of the answers to commands fired at one object at once."""

from __future__ import annotations

from collections import Counter

import httpx

PROBLEM = "application/problem+json"
ROUNDS = 3  # each race is run several times: one lucky interleaving proves little
RACERS = 8  # at least this many commands at once


def one_winner(answers: list[httpx.Response], *, slug: str = "invalid-status",
               winners: tuple[int, ...] = (200, 201, 202)) -> httpx.Response:
    """Exactly one answer succeeded; every other one is a 409 problem+json with the stable `slug`
    and the object's status now; none is a 5xx. Returns the winner."""
    statuses = Counter(a.status_code for a in answers)
    assert not [s for s in statuses if s >= 500], statuses
    won = [a for a in answers if a.status_code in winners]
    assert len(won) == 1, (statuses, [a.text for a in answers if a.status_code not in (409, *winners)])
    for lost in answers:
        if lost is won[0]:
            continue
        assert lost.status_code == 409, lost.text
        assert lost.headers["content-type"].startswith(PROBLEM), lost.headers
        body = lost.json()
        assert body["type"].endswith("/" + slug) and body["status"] == 409 and body["title"], body
    return won[0]
