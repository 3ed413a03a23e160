"""Locust scenarios against the stack (through nginx): every demo, mixed as real visitors come.

The user classes live in ``loadtest/scenarios/`` (one module per demo, its
docstring says what is checked); this file gathers them into one mix by their
weights. Each user holds one keep-alive connection and pauses between tasks
(``LOCUST_THINK_MIN``..``LOCUST_THINK_MAX`` seconds, default 1-3).

``scripts/loadtest [scenario]`` runs a scenario headless and draws its plots.
By hand, from the host (the stack on http://127.0.0.1:8080)::

    locust -f loadtest/locustfile.py --host http://127.0.0.1:8080 \\
        --headless -u 300 -r 50 -t 60s --csv loadtest/results/mixed/locust --csv-full-history

One demo only: name its user classes (``scenarios.SCENARIOS``) after the options,
e.g. ``... -t 30s ChatPoller ChatPoster``; or filter tasks by tag (``--tags guard``).
The 10,000-user step load is ``loadtest/step.py``. With the web UI, in containers
(master and workers, UI on http://127.0.0.1:8089)::

    docker compose --profile loadtest up --build
"""

from __future__ import annotations

# locust puts this file's folder on sys.path while it imports it: the package beside it imports.
from scenarios import BrowsingUser, ChatPoller, ChatPoster, FormsUser, RedirectsUser, UploadsUser

# locust runs every user class it finds in this module.
__all__ = ["BrowsingUser", "ChatPoller", "ChatPoster", "FormsUser", "RedirectsUser", "UploadsUser"]
