#!/bin/sh
# validate.sh: contract §4; all logic lives in the binary.
exec /usr/local/bin/switchyard validate /opt/proxy_config
