#!/bin/sh
# update.sh: contract §4; all logic lives in the binary. It validates the
# configuration only: *.test files are never read on reload.
exec /usr/local/bin/switchyard reload
