"""The locust scenarios, one module per demo; each user class stands for one kind of visitor.

| scenario    | user classes                 | what they do                                           |
|-------------|------------------------------|--------------------------------------------------------|
| `browse`    | `BrowsingUser`               | the portal, each demo's pages, the CSS they link       |
| `forms`     | `FormsUser`                  | valid (post/redirect/get) and invalid sign-ups, search |
| `uploads`   | `UploadsUser`                | multipart uploads checked by SHA-256, streamed PUTs    |
| `chat`      | `ChatPoller`, `ChatPoster`   | long polls in a few rooms, posts, delivery latency     |
| `redirects` | `RedirectsUser`              | redirects hop by hop, chains, the open-redirect guard  |

Each class's ``weight`` sets its share of the default mix (``loadtest/locustfile.py``),
roughly as real visitors would come: most only read pages. Every task is tagged
with its demo's name (and some with what they exercise: ``invalid``, ``search``,
``put``, ``longpoll``, ``chain``, ``guard``), for ``--tags`` / ``--exclude-tags``.
"""

from __future__ import annotations

from .browse import BrowsingUser as BrowsingUser
from .chat import ChatPoller as ChatPoller
from .chat import ChatPoster as ChatPoster
from .forms import FormsUser as FormsUser
from .redirects import RedirectsUser as RedirectsUser
from .uploads import UploadsUser as UploadsUser

__all__ = ["BrowsingUser", "ChatPoller", "ChatPoster", "FormsUser", "RedirectsUser", "UploadsUser"]
