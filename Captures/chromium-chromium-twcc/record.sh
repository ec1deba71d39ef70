#!/usr/bin/env bash
# Re-records this capture (see NOTES.md). Needs root.
exec "$(dirname "$0")/../tools/record.sh" chromium-chromium "$(dirname "$0")" chromium-chromium-twcc 10
