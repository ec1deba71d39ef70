#!/usr/bin/env bash
# Records one capture of real WebRTC traffic inside a fresh loopback-only network namespace.
#
#   Captures/tools/record.sh <mode> <out-dir> <stem> [seconds]
#
# mode: aiortc-aiortc | chromium-aiortc | chromium-chromium (see peers.py). Writes
# <out-dir>/<stem>.pcapng (tshark on lo, UDP only), <stem>.srtp-keys and <stem>.keylog (aiortc's SRTP
# master keys and NSS DTLS key log, when aiortc takes part), <stem>.sdp.json (offer and answer, with
# the ICE credentials), <stem>.peers.json (what each peer reported), then the decrypted twin <stem>.plain.pcap and the tshark goldens.
# Needs root (unshare -n) and scripts/setup.sh's packages. Nothing leaves the namespace.
set -euo pipefail
mode=$1; out=$(realpath "$2"); stem=$3; secs=${4:-12}
tools=$(dirname "$(realpath "$0")")
mkdir -p "$out"
rm -f "$out/$stem".*
unshare -n bash -s "$mode" "$out" "$stem" "$secs" "$tools" <<'INNER'
set -euo pipefail
mode=$1; out=$2; stem=$3; secs=$4; tools=$5
ip link set lo up
tshark -q -i lo -f udp -w "$out/$stem.pcapng" 2>/dev/null &
tpid=$!
trap 'kill -INT $tpid 2>/dev/null; wait $tpid 2>/dev/null || true' EXIT
sleep 2
SRTP_KEYLOG="$out/$stem.srtp-keys" SSLKEYLOGFILE="$out/$stem.keylog" SDP_LOG="$out/$stem.sdp.json" \
  timeout $((secs + 90)) python3 "$tools/peers.py" "$mode" "$secs" > "$out/$stem.peers.json"
sleep 1
INNER
[ -s "$out/$stem.srtp-keys" ] || rm -f "$out/$stem.srtp-keys" "$out/$stem.keylog"
if [ -f "$out/$stem.srtp-keys" ]; then
  python3 "$tools/decrypt_srtp.py" "$out/$stem.pcapng" "$out/$stem.srtp-keys" "$out/$stem.plain.pcap"
fi
bash "$tools/make-goldens.sh" "$out"
ls -l "$out"
