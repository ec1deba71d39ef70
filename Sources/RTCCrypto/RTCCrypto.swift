// RTCCrypto: HMAC, CRC-32 and digests over system OpenSSL, for STUN (and later DTLS/ICE).
