"""Notes: sign in, write notes, read them; a background worker counts their words and finds keywords.

A small Tornado application. Run it with ``python app.py --port=8888``.

- Signed cookies hold who is signed in; every form carries an XSRF token.
- New notes go on a queue; a worker started with ``spawn_callback`` takes
  them off and summarises each one on a thread pool (``run_on_executor``).
- ``/api/notes/<id>/summary?wait=1`` long-polls until the summary is ready.
- ``/feed`` is a WebSocket announcing new notes to signed-in readers.
- Every note is appended to a journal file (optional), in the order the
  notes were numbered, even when many are posted at once.
"""

import asyncio
import collections
import json
import os
import re
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from tornado import gen, locks, queues, web, websocket
from tornado.concurrent import run_on_executor
from tornado.ioloop import IOLoop
from tornado.log import app_log
from tornado.options import define, options, parse_command_line
from tornado.template import Loader

HERE = os.path.dirname(os.path.abspath(__file__))

define("port", default=8888, type=int, help="run on the given port")
define("cookie_secret", default="please-change-this-secret", help="secret signing the cookies")
define("summary_threads", default=2, type=int, help="threads summarising notes")
define("journal", default="", help="append every note to this file (JSON lines)")
define("debug", default=False, type=bool, help="debug mode (never in production)")

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{2,19}$")
WORD_RE = re.compile(r"[\w']+")
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "in",
        "is",
        "it",
        "of",
        "on",
        "or",
        "so",
        "the",
        "to",
        "was",
        "with",
    ]
)


class Note:
    def __init__(self, note_id, author, title, body):
        self.id = note_id
        self.author = author
        self.title = title
        self.body = body
        self.created = time.time()
        self.words = None
        self.keywords = []
        self.failed = False

    @property
    def done(self):
        return self.words is not None or self.failed

    def as_json(self):
        return {"id": self.id, "author": self.author, "title": self.title}


class NoteStore:
    """The notes, in memory, with an optional journal file written off the IOLoop."""

    def __init__(self, journal_path=None):
        self.notes = {}
        self.journal_path = journal_path
        self.executor = ThreadPoolExecutor(max_workers=1)
        self.summarised = locks.Condition()
        self._lock = locks.Lock()
        self._next_id = 1

    async def add(self, author, title, body):
        # The lock keeps the journal in id order: numbering and writing are one step.
        async with self._lock:
            note = Note(self._next_id, author, title, body)
            self._next_id += 1
            if self.journal_path:
                await self._append(json.dumps(note.as_json()))
            self.notes[note.id] = note
        return note

    @run_on_executor
    def _append(self, line):
        time.sleep(0.001)  # a slow disk
        with open(self.journal_path, "a", encoding="utf-8") as journal:
            journal.write(line + "\n")

    def get(self, note_id):
        return self.notes.get(note_id)

    def newest_first(self):
        return sorted(self.notes.values(), key=lambda n: n.id, reverse=True)

    async def wait_summarised(self, note, timeout):
        deadline = IOLoop.current().time() + timeout
        while not note.done:
            if not await self.summarised.wait(timeout=deadline):
                return False
        return True


class Summariser:
    """Takes note ids off a queue and summarises the notes on a thread pool."""

    def __init__(self, store, threads):
        self.store = store
        self.queue = queues.Queue(maxsize=100)
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="summarise")

    @run_on_executor
    def summarise(self, text):
        words = WORD_RE.findall(text.lower())
        if not words:
            raise ValueError(f"no words in {text!r}")
        counts = collections.Counter(w for w in words if w not in STOP_WORDS and len(w) > 2)
        return {
            "words": len(words),
            "keywords": [w for w, _ in counts.most_common(3)],
            "thread": threading.current_thread().name,
        }

    async def run(self):
        while True:
            note_id = await self.queue.get()
            note = self.store.get(note_id)
            try:
                result = await self.summarise(note.body)
                note.words, note.keywords = result["words"], result["keywords"]
            except Exception:  # noqa: BLE001 - one bad note must not stop the worker
                app_log.exception("could not summarise note %s", note_id)
                note.failed = True
            finally:
                self.store.summarised.notify_all()
                self.queue.task_done()


class Entry(web.UIModule):
    """One note in a list, or on its own page with its body."""

    def render(self, note, show_body=False):
        return self.render_string("modules/entry.html", note=note, show_body=show_body)

    def embedded_css(self):
        return ".entry { border-left: 3px solid #4a7; padding-left: .6em; margin: 1em 0 }"

    def javascript_files(self):
        return ["js/notes.js"]


class BaseHandler(web.RequestHandler):
    @property
    def store(self):
        return self.application.store

    def get_current_user(self):
        name = self.get_signed_cookie("user", max_age_days=7)
        return name.decode() if name else None

    def write_error(self, status_code, **kwargs):
        if self.settings.get("serve_traceback") and "exc_info" in kwargs:
            return super().write_error(status_code, **kwargs)
        self.render("error.html", status_code=status_code, message=self._reason)


class HomeHandler(BaseHandler):
    @web.authenticated
    def get(self):
        self.render("home.html", notes=self.store.newest_first())


class LoginHandler(BaseHandler):
    def get(self):
        self.render("login.html", error=None, name="", next=self.get_argument("next", "/"))

    def post(self):
        name = self.get_body_argument("name", "").strip()
        next_url = self.get_body_argument("next", "/")
        if not NAME_RE.match(name):
            self.set_status(400)
            self.render("login.html", error="3 to 20 letters, digits or _", name=name, next=next_url)
            return
        self.set_signed_cookie("user", name, expires_days=7, httponly=True)
        # Only paths on this site: "//evil.example" would leave it.
        if not next_url.startswith("/") or next_url.startswith("//"):
            next_url = "/"
        self.redirect(next_url)


class LogoutHandler(BaseHandler):
    def post(self):
        self.clear_cookie("user")
        self.redirect(self.reverse_url("login"))


class ComposeHandler(BaseHandler):
    @web.authenticated
    def get(self):
        self.render("compose.html", errors={}, title="", body="")

    @web.authenticated
    async def post(self):
        title = self.get_body_argument("title", "").strip()
        body = self.get_body_argument("body", "").strip()
        errors = {}
        if not title:
            errors["title"] = "A note needs a title."
        elif len(title) > 100:
            errors["title"] = "At most 100 characters."
        if not body:
            errors["body"] = "Write something."
        if errors:
            self.set_status(400)
            self.render("compose.html", errors=errors, title=title, body=body)
            return
        note = await self.store.add(self.current_user, title, body)
        await self.application.summariser.queue.put(note.id)
        self.application.announce(note)
        self.redirect(self.reverse_url("note", note.id))


class NoteHandler(BaseHandler):
    def get(self, note_id):
        note = self.store.get(int(note_id))
        if note is None:
            raise web.HTTPError(404, reason="No such note")
        self.render("note.html", note=note)


class SummaryHandler(BaseHandler):
    @gen.coroutine
    def get(self, note_id):
        note = self.store.get(int(note_id))
        if note is None:
            raise web.HTTPError(404)
        wait = float(self.get_argument("wait", "0"))
        if wait > 0 and not note.done:
            yield self.store.wait_summarised(note, min(wait, 30.0))
        self.write(
            {
                "id": note.id,
                "ready": note.words is not None,
                "failed": note.failed,
                "words": note.words,
                "keywords": note.keywords,
            }
        )


class FeedSocket(websocket.WebSocketHandler):
    """Tells every signed-in reader about new notes, as they are posted."""

    def get_current_user(self):
        name = self.get_signed_cookie("user", max_age_days=7)
        return name.decode() if name else None

    def prepare(self):
        if not self.current_user:
            raise web.HTTPError(403)

    def open(self):
        self.application.readers.add(self)

    def on_message(self, message):
        if json.loads(message).get("type") == "ping":
            self.write_message({"type": "pong", "readers": len(self.application.readers)})

    def on_close(self):
        self.application.readers.discard(self)


class NotesApplication(web.Application):
    def __init__(self, **overrides):
        self.store = NoteStore(journal_path=overrides.pop("journal_path", None) or options.journal or None)
        self.summariser = Summariser(self.store, threads=options.summary_threads)
        self.readers = set()  # FeedSockets open
        handlers = [
            web.url(r"/", HomeHandler, name="home"),
            web.url(r"/login", LoginHandler, name="login"),
            web.url(r"/logout", LogoutHandler, name="logout"),
            web.url(r"/compose", ComposeHandler, name="compose"),
            web.url(r"/notes/([0-9]+)", NoteHandler, name="note"),
            web.url(r"/api/notes/([0-9]+)/summary", SummaryHandler, name="summary"),
            web.url(r"/feed", FeedSocket, name="feed"),
        ]
        settings = {
            "template_path": os.path.join(HERE, "templates"),
            "static_path": os.path.join(HERE, "static"),
            "cookie_secret": options.cookie_secret,
            "xsrf_cookies": True,
            "login_url": "/login",
            "ui_modules": {"Entry": Entry},
            "debug": options.debug,
        }
        settings.update(overrides)
        if "template_loader" not in settings:
            settings["template_loader"] = Loader(settings["template_path"])
        super().__init__(handlers, **settings)
        IOLoop.current().spawn_callback(self.summariser.run)

    def announce(self, note):
        for reader in list(self.readers):
            reader.write_message(dict(note.as_json(), type="note"))


async def main():
    parse_command_line()
    app = NotesApplication()
    server = app.listen(options.port)
    app_log.info("notes on http://127.0.0.1:%d/", options.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.stop()
    await app.summariser.queue.join()
    app_log.info("notes stopped")


if __name__ == "__main__":
    asyncio.run(main())
