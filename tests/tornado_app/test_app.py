"""Tests of the notes application, with tornado.testing.

Run with ``python -m tornado.testing test_app`` or any unittest runner.
"""

import json
import os
import re
import shutil
import tempfile
import threading
import unittest
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from app import NotesApplication
from tornado import gen
from tornado.escape import json_decode
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.log import access_log, app_log, gen_log
from tornado.options import options
from tornado.testing import AsyncHTTPTestCase, ExpectLog, gen_test
from tornado.web import create_signed_value
from tornado.websocket import websocket_connect

SECRET = "test-secret-do-not-use-anywhere-else"


class NotesTestCase(AsyncHTTPTestCase):
    def get_app(self):
        self.tmpdir = tempfile.mkdtemp()
        self.journal = os.path.join(self.tmpdir, "journal.jsonl")
        self.app = NotesApplication(cookie_secret=SECRET, journal_path=self.journal)
        return self.app

    def tearDown(self):
        super().tearDown()
        self.app.summariser.executor.shutdown()
        self.app.store.executor.shutdown()
        shutil.rmtree(self.tmpdir)

    # -- helpers ---------------------------------------------------------

    def cookies_from(self, response, jar):
        for header in response.headers.get_list("Set-Cookie"):
            for name, morsel in SimpleCookie(header).items():
                jar[name] = morsel.value
        return jar

    def cookie_header(self, jar):
        return "; ".join(f"{name}={value}" for name, value in jar.items())

    def xsrf(self, jar):
        """The form's XSRF token, with its cookie added to ``jar``."""
        response = self.fetch("/login")
        self.cookies_from(response, jar)
        return re.search(r'name="_xsrf" value="([^"]+)"', response.body.decode()).group(1)

    def post(self, path, jar, **fields):
        fields.setdefault("_xsrf", self.xsrf(jar))
        return self.fetch(
            path,
            method="POST",
            body=urlencode(fields),
            headers={"Cookie": self.cookie_header(jar)},
            follow_redirects=False,
        )

    def login(self, name="alice"):
        jar = {}
        response = self.post("/login", jar, name=name, next="/")
        self.assertEqual(response.code, 302, response.body)
        self.cookies_from(response, jar)
        return jar

    def get(self, path, jar, **kwargs):
        return self.fetch(path, headers={"Cookie": self.cookie_header(jar)}, **kwargs)

    def journal_ids(self):
        with open(self.journal, encoding="utf-8") as journal:
            return [json.loads(line)["id"] for line in journal]

    def user_cookie(self, name="alice"):
        return "user=" + create_signed_value(SECRET, "user", name).decode()


class SigningInTest(NotesTestCase):
    def test_home_sends_the_signed_out_to_login(self):
        response = self.fetch("/", follow_redirects=False)
        self.assertEqual(response.code, 302)
        self.assertEqual(response.headers["Location"], "/login?next=%2F")

    def test_login_form_carries_an_xsrf_token_and_cookie(self):
        response = self.fetch("/login?next=/compose")
        self.assertEqual(response.code, 200)
        body = response.body.decode()
        self.assertIn('<input type="hidden" name="_xsrf" value="', body)
        self.assertIn('name="next" value="/compose"', body)
        self.assertIn("_xsrf", self.cookies_from(response, {}))

    def test_a_post_without_the_xsrf_token_is_forbidden(self):
        with ExpectLog(gen_log, ".*'_xsrf' argument missing from POST"):
            response = self.fetch("/login", method="POST", body="name=mallory")
        self.assertEqual(response.code, 403)

    def test_signing_in_sets_a_signed_cookie_and_shows_the_notes(self):
        jar = self.login("alice")
        self.assertTrue(jar["user"].startswith("2|"), jar["user"])  # Tornado's signed value, version 2
        response = self.get("/", jar)
        self.assertEqual(response.code, 200)
        body = response.body.decode()
        self.assertIn("<title>Notes of alice</title>", body)
        self.assertIn('<span class="user">alice</span>', body)
        self.assertIn("No notes yet.", body)

    def test_a_cookie_signed_elsewhere_is_not_signed_in(self):
        forged = "user=" + create_signed_value("another-secret", "user", "alice").decode()
        response = self.fetch("/", headers={"Cookie": forged}, follow_redirects=False)
        self.assertEqual(response.code, 302)

    def test_a_cookie_made_with_the_secret_is_signed_in(self):
        response = self.fetch("/", headers={"Cookie": self.user_cookie("bob")})
        self.assertEqual(response.code, 200)
        self.assertIn("Notes of bob", response.body.decode())

    def test_a_bad_name_is_shown_again_with_the_error(self):
        response = self.post("/login", {}, name="<b>", next="/")
        self.assertEqual(response.code, 400)
        body = response.body.decode()
        self.assertIn('<p class="error">3 to 20 letters, digits or _</p>', body)
        self.assertIn('value="&lt;b&gt;"', body)

    def test_next_never_leaves_the_site(self):
        response = self.post("/login", {}, name="alice", next="//evil.example/")
        self.assertEqual(response.headers["Location"], "/")

    def test_signing_out_clears_the_cookie(self):
        jar = self.login()
        response = self.post("/logout", jar)
        self.assertEqual(response.code, 302)
        self.assertEqual(response.headers["Location"], "/login")
        self.assertEqual(self.cookies_from(response, {})["user"], "")


class NotesTest(NotesTestCase):
    def compose(self, jar, title, body):
        return self.post("/compose", jar, title=title, body=body)

    def summary(self, jar, note_id, wait=5):
        response = self.get(f"/api/notes/{note_id}/summary?wait={wait}", jar)
        self.assertEqual(response.code, 200)
        return json_decode(response.body)

    def test_a_new_note_is_shown_and_summarised_by_the_worker(self):
        jar = self.login()
        response = self.compose(jar, "Shopping", "Apples, pears and more apples for the apple pie.")
        self.assertEqual(response.code, 302)
        self.assertEqual(response.headers["Location"], "/notes/1")
        summary = self.summary(jar, 1)
        self.assertEqual(summary["words"], 9)
        self.assertEqual(summary["keywords"][0], "apples")
        page = self.get("/notes/1", jar).body.decode()
        self.assertIn("<title>Shopping</title>", page)
        self.assertIn("9 words", page)
        self.assertIn("Keywords: apples, pears", page)

    def test_the_form_shows_its_errors_and_keeps_the_input(self):
        jar = self.login()
        response = self.compose(jar, "", "text & more")
        self.assertEqual(response.code, 400)
        body = response.body.decode()
        self.assertIn('<p class="error" id="title-error">A note needs a title.</p>', body)
        self.assertIn(">text &amp; more</textarea>", body)
        self.assertNotIn("body-error", body)

    def test_composing_needs_a_user(self):
        response = self.fetch("/compose", follow_redirects=False)
        self.assertEqual(response.headers["Location"], "/login?next=%2Fcompose")

    def test_entries_bring_their_css_and_script_once(self):
        jar = self.login()
        self.compose(jar, "First", "one")
        self.compose(jar, "Second <b>bold</b>", "two")
        body = self.get("/", jar).body.decode()
        self.assertEqual(body.count('<article class="entry"'), 2)
        self.assertLess(body.index('id="note-2"'), body.index('id="note-1"'))
        self.assertIn("Second &lt;b&gt;bold&lt;/b&gt;", body)
        head, rest = body.split("</head>")
        self.assertIn(".entry { border-left: 3px solid #4a7", head)
        scripts = re.findall(r'<script src="([^"]+)"', rest)
        self.assertEqual(len(scripts), 1)
        self.assertRegex(scripts[0], r"^/static/js/notes\.js\?v=[0-9a-f]+$")
        self.assertLess(rest.index("<script"), rest.index("</body>"))
        static = self.fetch(scripts[0])
        self.assertEqual(static.code, 200)
        self.assertIn(b"WebSocket", static.body)

    def test_a_note_body_is_escaped_and_its_links_linked(self):
        jar = self.login()
        self.compose(jar, "Links", "see http://example.com/a?b=1 <script>alert(1)</script>")
        body = self.get("/notes/1", jar).body.decode()
        self.assertIn('<a href="http://example.com/a?b=1">http://example.com/a?b=1</a>', body)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", body)
        self.assertNotIn("<script>alert", body)

    def test_a_missing_note_is_a_404_page(self):
        with ExpectLog(access_log, "404 GET /notes/99", level=30):
            response = self.fetch("/notes/99")
        self.assertEqual(response.code, 404)
        self.assertIn('<h1 class="error">404: No such note</h1>', response.body.decode())

    def test_the_worker_logs_a_note_it_cannot_summarise_and_goes_on(self):
        jar = self.login()
        with ExpectLog(app_log, "could not summarise note 1"):
            self.compose(jar, "Noise", "!!! ???")
            self.assertTrue(self.summary(jar, 1)["failed"])
        self.assertIn("No summary for this one.", self.get("/notes/1", jar).body.decode())
        self.compose(jar, "Words", "words after noise")
        self.assertEqual(self.summary(jar, 2)["words"], 3)

    def test_the_summary_long_poll_gives_up_at_its_timeout(self):
        jar = self.login()
        # Added to the store without going on the queue: nobody will summarise it.
        note = self.io_loop.run_sync(lambda: self.app.store.add("alice", "Later", "some words"))
        start = self.io_loop.time()
        summary = self.summary(jar, note.id, wait=0.2)
        self.assertGreaterEqual(self.io_loop.time() - start, 0.19)
        self.assertFalse(summary["ready"])
        self.assertFalse(summary["failed"])

    @gen_test
    async def test_summaries_run_on_the_thread_pool(self):
        result = await self.app.summariser.summarise("The cat sat on the mat with the other cat")
        self.assertEqual(result["words"], 10)
        self.assertEqual(result["keywords"][0], "cat")
        self.assertTrue(result["thread"].startswith("summarise"))
        self.assertNotEqual(result["thread"], threading.current_thread().name)

    @gen_test(timeout=10)
    async def test_notes_posted_at_once_are_journaled_in_order(self):
        login = await self.http_client.fetch(self.get_url("/login"))
        token = re.search(r'name="_xsrf" value="([^"]+)"', login.body.decode()).group(1)
        xsrf_cookie = SimpleCookie(login.headers["Set-Cookie"])["_xsrf"].value
        headers = {"Cookie": f"_xsrf={xsrf_cookie}; {self.user_cookie()}"}

        def post(i):
            body = urlencode({"_xsrf": token, "title": f"note {i}", "body": "word " * i})
            return self.http_client.fetch(
                self.get_url("/compose"),
                method="POST",
                body=body,
                headers=headers,
                follow_redirects=False,
                raise_error=False,
            )

        responses = await gen.multi([post(i) for i in range(1, 11)])
        self.assertEqual([r.code for r in responses], [302] * 10)
        await self.app.summariser.queue.join()
        self.assertEqual(self.journal_ids(), list(range(1, 11)))
        self.assertTrue(all(note.words for note in self.app.store.notes.values()))


class FeedTest(NotesTestCase):
    def ws_request(self, cookie=None):
        url = self.get_url("/feed").replace("http://", "ws://")
        return HTTPRequest(url, headers={"Cookie": cookie} if cookie else {})

    @gen_test
    async def test_readers_hear_of_new_notes(self):
        conn = await websocket_connect(self.ws_request(self.user_cookie("reader")))
        conn.write_message(json.dumps({"type": "ping"}))
        self.assertEqual(json_decode(await conn.read_message()), {"type": "pong", "readers": 1})

        login = await self.http_client.fetch(self.get_url("/login"))
        token = re.search(r'name="_xsrf" value="([^"]+)"', login.body.decode()).group(1)
        xsrf_cookie = SimpleCookie(login.headers["Set-Cookie"])["_xsrf"].value
        await self.http_client.fetch(
            self.get_url("/compose"),
            method="POST",
            body=urlencode({"_xsrf": token, "title": "Hello readers", "body": "hi"}),
            headers={"Cookie": f"_xsrf={xsrf_cookie}; {self.user_cookie('writer')}"},
            follow_redirects=False,
            raise_error=False,
        )
        message = json_decode(await conn.read_message())
        self.assertEqual(message, {"type": "note", "id": 1, "author": "writer", "title": "Hello readers"})
        conn.close()

    @gen_test
    async def test_the_signed_out_cannot_listen(self):
        with self.assertRaises(HTTPClientError) as caught:
            await websocket_connect(self.ws_request())
        self.assertEqual(caught.exception.code, 403)


class OptionsTest(unittest.TestCase):
    def test_the_defaults(self):
        self.assertEqual(options.port, 8888)
        self.assertEqual(options.summary_threads, 2)
        self.assertFalse(options.debug)

    def test_the_command_line_sets_them(self):
        saved = options.summary_threads
        try:
            rest = options.parse_command_line(["app.py", "--summary_threads=5", "extra"], final=False)
            self.assertEqual(rest, ["extra"])
            self.assertEqual(options.summary_threads, 5)
        finally:
            options.summary_threads = saved


if __name__ == "__main__":
    from tornado.testing import main

    main()
