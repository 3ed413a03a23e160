"""Load shapes for locust: the step load to 10,000 concurrent users.

Strategy: a list of stages, each a number of concurrent users and how long
the stage lasts (the ramp from the previous stage included). The spawn rate
is high enough that a ramp takes a small part of its stage, so most of each
stage is a plateau the plots and the table can read on their own.
"""

from __future__ import annotations

import os

from locust import LoadTestShape

__all__ = ["DEFAULT_STAGES", "StepLoadShape", "parse_stages"]

# 100 -> 1,000 -> 5,000 -> 10,000 users; about 8 minutes in all.
DEFAULT_STAGES = "100:60,1000:90,5000:150,10000:180"


def parse_stages(text: str) -> list[tuple[int, float]]:
    """``"100:60,1000:90"`` -> ``[(100, 60.0), (1000, 90.0)]`` (users : seconds).

    Raises:
        ValueError: a stage is not ``users:seconds`` with both positive.
    """
    stages = []
    for item in text.split(","):
        users, _, seconds = item.strip().partition(":")
        stage = (int(users), float(seconds))
        if stage[0] <= 0 or stage[1] <= 0:
            raise ValueError(f"stage {item!r}: users and seconds must be positive")
        stages.append(stage)
    return stages


class StepLoadShape(LoadTestShape):
    """Steps of concurrent users held for a while each, then the end of the test.

    ``LOCUST_STEP_STAGES`` (``users:seconds,...``, default ``DEFAULT_STAGES``)
    and ``LOCUST_STEP_SPAWN_RATE`` (users per second over all workers, default
    100) change it; the shape runs on the master only.
    """

    def __init__(self) -> None:
        super().__init__()
        self.stages = parse_stages(os.environ.get("LOCUST_STEP_STAGES", DEFAULT_STAGES))
        self.spawn_rate = float(os.environ.get("LOCUST_STEP_SPAWN_RATE", "100"))

    def tick(self) -> tuple[int, float] | None:
        elapsed = self.get_run_time()
        for users, seconds in self.stages:
            if elapsed < seconds:
                return users, self.spawn_rate
            elapsed -= seconds
        return None
