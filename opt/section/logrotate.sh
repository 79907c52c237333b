#!/bin/sh
# logrotate.sh: contract §4; all logic lives in the binary.
exec /usr/local/bin/switchyard rotate-logs
