#!/usr/bin/env bash
# Re-records this capture (see NOTES.md): a two-person Odoo call through our own `sfu` (release build) with
# headless Chromium participants on Tests/Peers/client/call.html (1280x720 fake camera: three simulcast layers),
# the server's plaintext tap (RTC_PLAINTEXT_TAP_DIR) on. Keeps one producer-side transport (the one that
# received the most RTP: a browser's send transport) and one consumer-side transport (the one that sent the most
# RTP: a browser's receive transport), trimmed to the first SECONDS of media. Needs root (unshare -n).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=${1:-8}
export PATH="/opt/swift/usr/bin:$PATH"
cd "$root"
swift build -c release --product sfu >/dev/null
export SFU_BINARY="$(swift build -c release --show-bin-path)/sfu"
tap=$(mktemp -d)
Tests/Peers/netns.sh python3 Tests/Peers/call_peer.py media --participants 2 --seconds "$((seconds + 4))" \
  --video 1280x720 --env "RTC_PLAINTEXT_TAP_DIR=$tap" > "$tap/call.json"
python3 - "$tap" "$here" "$seconds" <<'PY'
import json, os, subprocess, sys
tap, here, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3])
files = [os.path.join(tap, f) for f in os.listdir(tap) if f.endswith(".pcap")]
ports = {}
for path in files:
    rows = subprocess.run(["tshark", "-r", path, "-T", "fields", "-e", "udp.srcport", "-e", "udp.dstport", "-e", "udp.payload"],
                          capture_output=True, text=True).stdout.split("\n")
    stats = {}
    for row in rows:
        parts = row.split()
        if len(parts) != 3 or len(parts[2]) < 4:
            continue
        b0, b1 = int(parts[2][:2], 16), int(parts[2][2:4], 16)
        if 128 <= b0 <= 191 and not 192 <= b1 <= 223:
            stats.setdefault((parts[0], parts[1]), 0)
            stats[(parts[0], parts[1])] += 1
    ports[path] = stats
# The server port is the one present in every file.
common = set.intersection(*[{p for pair in s for p in pair} for s in ports.values() if s])
server_port = sorted(common)[0]
def inbound(path): return sum(n for (src, dst), n in ports[path].items() if dst == server_port)
def outbound(path): return sum(n for (src, dst), n in ports[path].items() if src == server_port)
send = max(files, key=inbound)
recv = max((f for f in files if f != send), key=outbound)
for source, name in ((send, "sfu-chromium-simulcast.producer.plain.pcap"), (recv, "sfu-chromium-simulcast.consumer.plain.pcap")):
    first = float(subprocess.run(["tshark", "-r", source, "-c", "1", "-T", "fields", "-e", "frame.time_epoch"],
                                 capture_output=True, text=True).stdout.split()[0])
    subprocess.run(["editcap", "-F", "pcap", "-B", f"{first + seconds:.6f}", source, os.path.join(here, name)], check=True)
    print(f"{name}: from {os.path.basename(source)} (server port {server_port})")
result = json.loads(open(os.path.join(tap, "call.json")).read().strip().splitlines()[-1])
json.dump({"participants": result.get("participants"), "stats": result.get("stats")},
          open(os.path.join(here, "sfu-chromium-simulcast.peers.json"), "w"), indent=1)
PY
"$root/Captures/tools/make-goldens.sh" "$here"
rm -rf "$tap"
