"""The step load: 100 -> 1,000 -> 5,000 -> 10,000 concurrent users, each holding its connection.

A locustfile of its own (``-f loadtest/step.py``): the users of the default
mix that hold connections, with think times long enough that 10,000 of them
ask for a rate a 2-core machine serves with nginx, the services and locust
itself on it (about 10,000 / 40 s = 250 requests a second at the top step:
at 15-35 s, 400 a second, the machine ran out of CPU at 10,000 users, the
chat's Redis calls missed their 5 s bound and 4,610 requests failed), and the
``StepLoadShape`` (``loadtest/shapes.py``).

- ``HoldingVisitor``: a ``BrowsingUser`` (the portal, the demos' pages, the CSS)
  pausing ``LOCUST_STEP_THINK_MIN``..``LOCUST_STEP_THINK_MAX`` seconds (30-50)
  between pages on its one keep-alive connection (nginx keeps it 75 s);
- ``StepChatPoller`` / ``StepChatPoster``: a few long-poll readers (one held
  poll each, answered when a message comes or after 25 s) and three writers
  posting every 5-15 s, so delivery latency is measured at every step.

One locust process holds a few thousand users: run it distributed, in
containers on the compose network (``scripts/loadtest step``), not through
the published port, where the engine's userland proxy gives up near 3,500
connections.
"""

from __future__ import annotations

import os

from locust import between

# locust puts this file's folder on sys.path while it imports it. The package, not its
# classes: locust would run every user class it finds in this module's namespace.
import scenarios
from shapes import StepLoadShape

__all__ = ["HoldingVisitor", "StepChatPoller", "StepChatPoster", "StepLoadShape"]

THINK_MIN = float(os.environ.get("LOCUST_STEP_THINK_MIN", "30"))
THINK_MAX = float(os.environ.get("LOCUST_STEP_THINK_MAX", "50"))


class HoldingVisitor(scenarios.BrowsingUser):
    """Reads a page, then holds its idle keep-alive connection for a long think time."""

    weight = 95
    wait_time = between(THINK_MIN, THINK_MAX)


class StepChatPoller(scenarios.ChatPoller):
    """A long-poll reader (its poll connection is held open most of the time)."""

    weight = 5


class StepChatPoster(scenarios.ChatPoster):
    """One of three writers whose messages the readers time."""

    fixed_count = 3
    wait_time = between(5, 15)
