#!/bin/sh
# validate.sh: contract §4; all logic lives in the binary. It compiles
# proxy.conf and then runs the *.test files beside it (proxy-conf.md §16):
# a failing test refuses the push like any other fault.
exec /usr/local/bin/switchyard validate /opt/proxy_config
