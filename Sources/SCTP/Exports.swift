// The shared base types this module's API is written in (SSRC, serial numbers, NTP time, the sans-IO
// contract) come with `import SCTP`: a user of the module needs no second import to name them.
@_exported import RTCBase
