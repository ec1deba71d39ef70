// The SRTP module. Its contents arrive with the issue that builds it (see README "Status").
// Contract: sans-IO — bytes and the current time in; bytes, events and the next deadline out.
