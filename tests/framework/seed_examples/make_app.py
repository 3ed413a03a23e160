# The tutorial's minimal "hello world" application, `tornado` -> `framework`.
import framework.ioloop
import framework.web


class MainHandler(framework.web.RequestHandler):
    def get(self):
        self.write("Hello, world")


def make_app():
    return framework.web.Application(
        [
            (r"/", MainHandler),
        ]
    )


if __name__ == "__main__":
    app = make_app()
    app.listen(8888)
    framework.ioloop.IOLoop.current().start()
