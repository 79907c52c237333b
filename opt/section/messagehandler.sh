#!/bin/sh
# messagehandler.sh: contract §4; all logic lives in the binary.
exec /usr/local/bin/switchyard message "$1" "$2"
