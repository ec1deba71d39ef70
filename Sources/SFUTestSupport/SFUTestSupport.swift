/// Test support for the SFU module: in-memory browser-like peers (this stack's controlling ICE agent, DTLS
/// client and SRTP) connected to a ``SFU/MediaRouter``, shared by SFUTests, the SFU fuzz target and the
/// forwarding benchmarks.
public enum SFUTestSupport {}

// The seeded generator (SplitMix64) and the capture helpers come with `import SFUTestSupport`.
@_exported import RTCTestSupport
