# The tutorial's Application example (options, url(), reverse_url, initialize),
# unchanged but for `tornado` -> `framework`.
import framework.httpserver
import framework.ioloop  # tornado 的核心IO循环模块，封装了Linux的epoll模块，高性能基础
import framework.options
import framework.web  # tornado的基础web框架
from framework.options import options  # 导入定义操作函数
from framework.web import RequestHandler, url  # 导入请求接口，和路由函数

# options 是可以全局定义一些变量，以便于全局调用options.port,这里定义了一个port
framework.options.define("port", type=int, default=8000, help="服务器端口")


# 主页处理逻辑，相当于视图
class IndexHandler(RequestHandler):
    def get(self):
        self.write('<a href="' + self.reverse_url("cpp_url") + '">cpp</a>')


class SubjectHandler(RequestHandler):
    # 处理逻辑的初始化，这里通过对initialize函数，对接受的参数进行整理操作
    def initialize(self, subject):
        self.subject = subject

    def get(self):
        self.write(self.subject)


if __name__ == "__main__":
    framework.options.parse_command_line()

    # 实例化一个app，Application：是tornado web框架核心，是与服务器的接口
    app = framework.web.Application(
        [
            (r"/", IndexHandler),
            # 给视图类传递参数
            (r"/Python", SubjectHandler, {"subject": "python"}),
            # 使用url，并起别名来传递参数，以便于反向解析路由地址
            url(r"/cpp", SubjectHandler, {"subject": "cpp"}, name="cpp_url"),
        ],
        debug=True,
    )

    http_server = framework.httpserver.HTTPServer(app)
    http_server.listen(options.port)
    framework.ioloop.IOLoop.current().start()
