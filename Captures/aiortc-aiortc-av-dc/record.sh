#!/usr/bin/env bash
# Re-records this capture (see NOTES.md). Needs root.
exec "$(dirname "$0")/../tools/record.sh" aiortc-aiortc "$(dirname "$0")" aiortc-aiortc-av-dc 10
