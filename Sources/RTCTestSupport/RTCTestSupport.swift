// RTCTestSupport: Captures/ locator, golden loader, hex helpers.
