# The tutorial's first program, unchanged but for `tornado` -> `framework`.
import framework.ioloop
import framework.web  # 核心文件


# 3、主页处理类
class IndexHandler(framework.web.RequestHandler):
    # 处理get请求
    def get(self):
        self.write("Hello world!")


if __name__ == "__main__":
    # 类似于beego的实现方式
    # 1、Application类中填入了路由，和处理函数，相当于MVC中的控制器
    app = framework.web.Application([(r"/", IndexHandler)])
    # 2、绑定监听端口
    app.listen(8000)
    # 4、ioloop是一个模块，IOLoop是循环类，current函数会判断当前是否有唯一线程启动，没有就创建，start会启动服务器
    framework.ioloop.IOLoop.current().start()
