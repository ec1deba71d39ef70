#!/usr/bin/env bash
# Enforces the module rules of the package:
#  - protocol modules (STUN ICE DTLS RTP SRTP RTCP SCTP) never import one another, except ICE -> STUN,
#    and never import SFU or App (STUN and SRTP may use the RTCCrypto support module: HMAC);
#  - RTCBase imports only NIOCore (and the Foundation-less standard library); SFU never imports App;
#  - protocol and SFU code is sans-IO: no clock reads, sleeps, sockets or NIOPosix outside App.
# Prints every violation and exits 1 if there is one.
set -uo pipefail
cd "$(dirname "$0")/.."
ours="STUN|ICE|DTLS|RTP|SRTP|RTCP|SCTP|SFU|App|RTCBase|RTCCrypto|PacketCapture|RTCTestSupport"
fail=0
imports() { grep -rhoE "^\s*(@testable\s+|@_exported\s+)?import\s+[A-Za-z_]+" "Sources/$1" 2>/dev/null | awk '{print $NF}' | sort -u; }
for m in STUN ICE DTLS RTP SRTP RTCP SCTP; do
  [ -d "Sources/$m" ] || continue
  for i in $(imports "$m"); do
    if echo "$i" | grep -qxE "$ours"; then
      case "$m:$i" in
        ICE:STUN|*:RTCBase|STUN:RTCCrypto|SRTP:RTCCrypto) ;;
        *) echo "boundary: Sources/$m imports $i (protocol modules may import only RTCBase; ICE may import STUN; STUN and SRTP may use RTCCrypto)"; fail=1 ;;
      esac
    fi
  done
done
for i in $(imports RTCBase); do
  case "$i" in
    NIOCore|Swift|Synchronization|_Concurrency) ;;
    *) echo "boundary: Sources/RTCBase imports $i (RTCBase may import only NIOCore and the standard library)"; fail=1 ;;
  esac
done
imports SFU | grep -qx App && { echo "boundary: Sources/SFU imports App"; fail=1; }
# Sans-IO: no clock, sleep or socket outside App (PacketCapture and RTCTestSupport are tools, not protocol code).
for m in RTCBase RTCCrypto STUN ICE DTLS RTP SRTP RTCP SCTP SFU; do
  [ -d "Sources/$m" ] || continue
  hits=$(grep -rnE 'Date\(\)|ContinuousClock\.now|SuspendingClock\.now|DispatchTime\.now|clock_gettime|gettimeofday|Task\.sleep|usleep\(|nanosleep|socket\(|import\s+NIOPosix|import\s+Foundation' "Sources/$m" 2>/dev/null | grep -v '^\s*//' | grep -vE '//.*(allowed|sans-IO)')
  if [ -n "$hits" ]; then echo "sans-IO: Sources/$m reads the clock, sleeps, opens sockets or imports Foundation/NIOPosix:"; echo "$hits"; fail=1; fi
done
[ $fail -eq 0 ] && echo "boundaries: ok (protocol modules independent, ICE->STUN only, sans-IO outside App)"
exit $fail
