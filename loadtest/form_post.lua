-- wrk script for bench.py's form workload: POST /form with an urlencoded body of five fields.
-- bench.py reads the body from the wrk.body line below for its probe: keep it one quoted line.
-- Run by hand: wrk -t1 -c100 -d5s -s loadtest/form_post.lua http://127.0.0.1:8888/form
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "name=Ada+Lovelace&email=ada%40example.com&age=36&topic=engines&message=The+Analytical+Engine+weaves+algebraic+patterns+%26+more"
