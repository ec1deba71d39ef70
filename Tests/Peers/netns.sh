#!/usr/bin/env bash
# Runs a command inside a fresh, loopback-only network namespace (lo up, nothing else), so that
# browsers and servers under test can only ever talk over 127.0.0.1 / ::1.
#   Tests/Peers/netns.sh CMD [ARGS...]
set -euo pipefail
exec unshare -n bash -c 'ip link set lo up && exec "$@"' netns "$@"
