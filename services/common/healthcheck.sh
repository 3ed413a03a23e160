#!/bin/bash
# The containers' health check: GET PATH on 127.0.0.1:PORT, healthy on a 200.
#
# Usage: healthcheck.sh PORT PATH
# One HTTP/1.0 request over bash's /dev/tcp, so a check costs a shell, not a
# Python interpreter starting up: with a check every 2 s per service, spawning
# Python took a few percent of a core per container on a 2-core machine.
exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$2" >&3
read -r -t 2 status <&3 && [[ $status == *' 200 '* ]]
