#!/usr/bin/env bash
# Re-records this capture (see NOTES.md). Needs root.
exec "$(dirname "$0")/../tools/record.sh" chromium-aiortc "$(dirname "$0")" chromium-aiortc-av 12
