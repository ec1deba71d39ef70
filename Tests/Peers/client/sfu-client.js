// A small client for the Odoo SFU protocol (Bus + SfuClient) with its own WebRTC glue (Device, SendTransport,
// RecvTransport) playing the part mediasoup-client plays in Odoo's odoo_sfu.js bundle. Plain ES2020 module, no
// dependencies. The wire contract is docs/protocol.md (§ numbers below refer to it).

// ----------------------------------------------------------------------------------------------------------------
// Bus (§4): JSON arrays of {message, needResponse, responseTo} over a WebSocket.

let busCount = 0;
const BUS_SIDE = typeof window !== 'undefined' && typeof window.document !== 'undefined' ? 'c' : 's';

export class Bus {
  constructor(webSocket, {batchDelay = 200} = {}) {
    this.id = busCount++;
    this.onMessage = null;      // (message) => void
    this.onRequest = null;      // async (message) => response
    this.onError = null;        // (error) => void, a request handler failed (no response is sent, §4.5)
    this._ws = webSocket;
    this._batchDelay = batchDelay;
    this._requests = 0;
    this._pending = new Map();
    this._queue = [];
    this._batchTimer = null;
    this._closed = false;
    this._onWsMessage = (event) => this._receive(event.data);
    this._onWsClose = () => this.close();
    webSocket.addEventListener('message', this._onWsMessage);
    webSocket.addEventListener('close', this._onWsClose);
  }

  /** Sends a request and resolves with the response's `message` (undefined for an empty response). */
  request(message, {timeout = 5000, batch = false} = {}) {
    const id = `${BUS_SIDE}_${this.id}_${this._requests++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(id);
        reject(new Error('bus request timed out'));
      }, timeout);
      this._pending.set(id, {resolve, reject, timer});
      this._send({message, needResponse: id}, batch);
    });
  }

  send(message, {batch = false} = {}) {
    this._send({message}, batch);
  }

  close() {
    if (this._closed) return;
    this._closed = true;
    clearTimeout(this._batchTimer);
    this._ws.removeEventListener('message', this._onWsMessage);
    this._ws.removeEventListener('close', this._onWsClose);
    for (const {reject, timer} of this._pending.values()) {
      clearTimeout(timer);
      reject(new Error('bus closed'));
    }
    this._pending.clear();
  }

  _send(payload, batch) {
    if (this._closed) return;
    if (!batch) {
      this._ws.send(JSON.stringify([payload]));
      return;
    }
    // §4.3: the first batched item after an idle period goes out at once, the ones arriving during the
    // following window are sent together at its end (which opens a new window).
    this._queue.push(payload);
    if (!this._batchTimer) this._flush();
  }

  _flush() {
    this._batchTimer = null;
    if (!this._queue.length || this._closed) return;
    this._ws.send(JSON.stringify(this._queue));
    this._queue = [];
    this._batchTimer = setTimeout(() => this._flush(), this._batchDelay);
  }

  _receive(data) {
    let payloads;
    try {
      payloads = JSON.parse(data);
    } catch (error) {
      this.onError?.(error);
      return;
    }
    for (const payload of Array.isArray(payloads) ? payloads : [payloads]) this._dispatch(payload || {});
  }

  async _dispatch({message, needResponse, responseTo}) {
    if (responseTo) {
      const pending = this._pending.get(responseTo);
      if (!pending) return;
      this._pending.delete(responseTo);
      clearTimeout(pending.timer);
      pending.resolve(message);
    } else if (needResponse) {
      let response;
      try {
        response = await this.onRequest?.(message);
      } catch (error) {
        this.onError?.(error);
        return;
      }
      this._send({message: response, responseTo: needResponse}, false);
    } else {
      this.onMessage?.(message);
    }
  }
}

// ----------------------------------------------------------------------------------------------------------------
// SDP reading (only what the handlers below need).

const intIfInt = (v) => (String(Number(v)) === v ? Number(v) : v);

function parseParams(config) {
  const params = {};
  for (const item of config.split(';')) {
    const eq = item.indexOf('=');
    if (eq > 0) params[item.slice(0, eq).trim()] = intIfInt(item.slice(eq + 1).trim());
  }
  return params;
}

export function parseSdp(sdp) {
  const session = [];
  const sections = [];
  let attrs = session;
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) {
      const [kind, port, , ...pts] = line.slice(2).split(' ');
      sections.push({kind, port: Number(port), pts: pts.map(Number), attrs: (attrs = [])});
    } else if (line.startsWith('a=')) attrs.push(line.slice(2));
  }
  const values = (list, name) => list.filter((a) => a.startsWith(name + ':')).map((a) => a.slice(name.length + 1));
  const sessionFingerprint = values(session, 'fingerprint')[0];
  const media = sections.map(({kind, port, pts, attrs}) => {
    const get = (name) => values(attrs, name);
    const codecs = new Map();
    for (const v of get('rtpmap')) {
      const m = /^(\d+) ([^/]+)\/(\d+)(?:\/(\d+))?/.exec(v);
      if (m) codecs.set(+m[1], {pt: +m[1], name: m[2], rate: +m[3], channels: m[4] ? +m[4] : undefined, params: {}, fb: []});
    }
    for (const v of get('fmtp')) {
      const sp = v.indexOf(' ');
      const codec = codecs.get(Number(v.slice(0, sp)));
      if (codec && sp > 0) codec.params = parseParams(v.slice(sp + 1));
    }
    for (const v of get('rtcp-fb')) {
      const [pt, type, parameter = ''] = v.split(' ');
      for (const codec of codecs.values()) if (pt === '*' || Number(pt) === codec.pt) codec.fb.push({type, parameter});
    }
    const fingerprint = (get('fingerprint')[0] ?? sessionFingerprint)?.split(' ');
    return {
      kind, port, pts,
      mid: get('mid')[0],
      direction: ['sendrecv', 'sendonly', 'recvonly', 'inactive'].find((d) => attrs.includes(d)),
      codecs: pts.map((pt) => codecs.get(pt)).filter(Boolean),
      extmaps: get('extmap').map((v) => /^(\d+)(?:\/\w+)? (\S+)/.exec(v)).filter(Boolean).map((m) => ({id: +m[1], uri: m[2]})),
      ssrcs: get('ssrc').map((v) => /^(\d+) ([^:]+)(?::(.*))?$/.exec(v)).filter(Boolean)
        .map((m) => ({ssrc: +m[1], attribute: m[2], value: m[3]})),
      ssrcGroups: get('ssrc-group').map((v) => v.split(' ')).map(([semantics, ...s]) => ({semantics, ssrcs: s.map(Number)})),
      rids: get('rid').map((v) => v.split(' ')).map(([id, direction]) => ({id, direction})),
      simulcast: get('simulcast')[0],
      setup: get('setup')[0] ?? values(session, 'setup')[0],
      fingerprint: fingerprint && {algorithm: fingerprint[0], value: fingerprint[1]},
      extmapAllowMixed: attrs.includes('extmap-allow-mixed') || session.includes('extmap-allow-mixed'),
      // Firefox offers every m-section after the first of a max-bundle group with port 0 and a=bundle-only
      // (RFC 8843 §7.2.1): such a section is live, not rejected.
      bundleOnly: attrs.includes('bundle-only'),
    };
  });
  return {media};
}

// ----------------------------------------------------------------------------------------------------------------
// RTP capabilities (§6.2) and H264 profile matching (RFC 6184 profile-level-id).

const isRtx = (codec) => /\/rtx$/i.test(codec.mimeType);
const clone = (v) => JSON.parse(JSON.stringify(v));

// [profile, profile_idc, profile_iop mask, masked value]: constrained baseline, baseline, main, high, constrained
// high, predictive high 4:4:4.
const H264_PROFILES = [
  ['cb', 0x42, 0x4f, 0x40], ['cb', 0x4d, 0x8f, 0x80], ['cb', 0x58, 0xcf, 0xc0], ['b', 0x42, 0x4f, 0x00],
  ['b', 0x58, 0xcf, 0x80], ['m', 0x4d, 0xaf, 0x00], ['h', 0x64, 0xff, 0x00], ['ch', 0x64, 0xff, 0x0c],
  ['ph444', 0xf4, 0xff, 0x00]];
const H264_PREFIX = {cb: '42e0', b: '4200', m: '4d00', h: '6400', ch: '640c', ph444: 'f400'};
const H264_LEVEL_1B = {cb: '42f00b', b: '42100b', m: '4d100b'};

function parseProfileLevelId(value = '42e01f') {
  if (typeof value !== 'string' || !/^[0-9a-f]{6}$/i.test(value)) return null;
  const idc = parseInt(value.slice(0, 2), 16), iop = parseInt(value.slice(2, 4), 16), levelIdc = parseInt(value.slice(4), 16);
  const entry = H264_PROFILES.find(([, i, mask, v]) => i === idc && (iop & mask) === v);
  if (!entry) return null;
  return {profile: entry[0], level: levelIdc === 11 && iop & 0x10 ? 10.5 : levelIdc};   // 10.5 = level 1b
}

function h264AnswerProfileLevelId(local, remote) {
  if (!('profile-level-id' in local) && !('profile-level-id' in remote)) return undefined;
  const l = parseProfileLevelId(local['profile-level-id']), r = parseProfileLevelId(remote['profile-level-id']);
  if (!l || !r || l.profile !== r.profile) return null;
  const asymmetric = [local, remote].every((p) => String(p['level-asymmetry-allowed']) === '1');
  const level = asymmetric ? l.level : Math.min(l.level, r.level);
  return level === 10.5 ? H264_LEVEL_1B[l.profile] ?? null : H264_PREFIX[l.profile] + level.toString(16).padStart(2, '0');
}

function matchCodecs(a, b, {modify = false} = {}) {
  const mime = a.mimeType.toLowerCase();
  if (mime !== b.mimeType.toLowerCase() || a.clockRate !== b.clockRate || a.channels !== b.channels) return false;
  if (mime === 'video/h264') {
    if ((a.parameters['packetization-mode'] || 0) !== (b.parameters['packetization-mode'] || 0)) return false;
    const answer = h264AnswerProfileLevelId(a.parameters, b.parameters);
    if (answer === null) return false;
    if (modify) {
      if (answer) a.parameters['profile-level-id'] = answer;
      else delete a.parameters['profile-level-id'];
    }
  } else if (mime === 'video/vp9') {
    if ((a.parameters['profile-id'] || 0) !== (b.parameters['profile-id'] || 0)) return false;
  }
  return true;
}

/** The browser's own capabilities, from an offer (all its m-sections, or only the one with that mid). */
export function nativeCapabilities(offerSdp, mid) {
  const caps = {codecs: [], headerExtensions: []};
  for (const m of parseSdp(offerSdp).media) {
    if ((m.kind !== 'audio' && m.kind !== 'video') || (mid !== undefined && m.mid !== mid)) continue;
    for (const c of m.codecs) {
      const codec = {mimeType: `${m.kind}/${c.name}`, kind: m.kind, preferredPayloadType: c.pt, clockRate: c.rate};
      if (m.kind === 'audio') codec.channels = c.channels ?? 1;
      codec.parameters = {...c.params};
      if ('profile-level-id' in codec.parameters) codec.parameters['profile-level-id'] = String(codec.parameters['profile-level-id']);
      codec.rtcpFeedback = c.fb.map(({type, parameter}) => ({type, parameter}));
      // libwebrtc does NACK for opus without announcing it; mediasoup-client adds it (§6.2).
      if (/^audio\/opus$/i.test(codec.mimeType) && !codec.rtcpFeedback.some((f) => f.type === 'nack')) {
        codec.rtcpFeedback.push({type: 'nack', parameter: ''});
      }
      caps.codecs.push(codec);
    }
    for (const {id, uri} of m.extmaps) {
      if (!caps.headerExtensions.some((e) => e.kind === m.kind && e.uri === uri)) {
        caps.headerExtensions.push({kind: m.kind, uri, preferredId: id, preferredEncrypt: false, direction: 'sendrecv'});
      }
    }
  }
  return caps;
}

function normalizeRouterCapabilities(caps) {
  const out = clone(caps ?? {});
  out.codecs = (out.codecs ?? []).map((c) => {
    const kind = /^(audio|video)\//i.exec(c.mimeType ?? '')?.[1].toLowerCase();
    if (!kind || typeof c.clockRate !== 'number') throw new TypeError(`invalid router codec ${JSON.stringify(c)}`);
    const codec = {...c, kind, parameters: c.parameters ?? {}};
    if (kind === 'audio' && typeof codec.channels !== 'number') codec.channels = 1;
    if (kind === 'video') delete codec.channels;
    codec.rtcpFeedback = (c.rtcpFeedback ?? []).map((f) => ({type: f.type, parameter: f.parameter ?? ''}));
    return codec;
  });
  out.headerExtensions = (out.headerExtensions ?? []).map((e) => ({direction: 'sendrecv', preferredEncrypt: false, ...e}));
  return out;
}

const FLIPPED_DIRECTION = {sendrecv: 'sendrecv', recvonly: 'sendonly', sendonly: 'recvonly', inactive: 'inactive'};

function extendedCapabilities(local, router) {
  const codecs = [];
  for (const rc of router.codecs) {
    if (isRtx(rc)) continue;
    const lc = local.codecs.find((c) => !isRtx(c) && matchCodecs(c, rc, {modify: true}));
    if (!lc) continue;
    const rtcpFeedback = [];
    for (const f of lc.rtcpFeedback) {
      const match = rc.rtcpFeedback.find((g) => g.type === f.type && g.parameter === f.parameter);
      if (match) rtcpFeedback.push(match);
    }
    codecs.push({mimeType: lc.mimeType, kind: lc.kind, clockRate: lc.clockRate, channels: lc.channels,
      localPayloadType: lc.preferredPayloadType, remotePayloadType: rc.preferredPayloadType,
      localParameters: lc.parameters, remoteParameters: rc.parameters, rtcpFeedback});
  }
  for (const ec of codecs) {
    const lrtx = local.codecs.find((c) => isRtx(c) && c.parameters.apt === ec.localPayloadType);
    const rrtx = router.codecs.find((c) => isRtx(c) && c.parameters.apt === ec.remotePayloadType);
    if (lrtx && rrtx) {
      ec.localRtxPayloadType = lrtx.preferredPayloadType;
      ec.remoteRtxPayloadType = rrtx.preferredPayloadType;
    }
  }
  const headerExtensions = [];
  for (const re of router.headerExtensions) {
    const le = local.headerExtensions.find((e) => e.kind === re.kind && e.uri === re.uri);
    if (le) {
      headerExtensions.push({kind: re.kind, uri: re.uri, sendId: le.preferredId, recvId: re.preferredId,
        encrypt: false, direction: FLIPPED_DIRECTION[re.direction] ?? 'sendrecv'});
    }
  }
  return {codecs, headerExtensions};
}

const TRANSPORT_CC = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
const ABS_SEND_TIME = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time';

// ----------------------------------------------------------------------------------------------------------------
// Device

export class Device {
  constructor() {
    this.loaded = false;
    this.nativeCapabilities = null;
    this.routerCapabilities = null;
    this.extended = null;
    this.rtpCapabilities = null;
  }

  /** Accepts the router capabilities themselves or, like mediasoup-client, `{routerRtpCapabilities}`. */
  async load(capabilities) {
    if (this.loaded) throw new Error('device already loaded');
    const router = normalizeRouterCapabilities(capabilities?.routerRtpCapabilities ?? capabilities);
    const pc = new RTCPeerConnection();
    let offer;
    try {
      pc.addTransceiver('audio');
      pc.addTransceiver('video');
      offer = await pc.createOffer();
    } finally {
      pc.close();
    }
    this.nativeCapabilities = nativeCapabilities(offer.sdp);
    this.routerCapabilities = router;
    this.extended = extendedCapabilities(clone(this.nativeCapabilities), router);
    this.rtpCapabilities = this._recvCapabilities();
    this.loaded = true;
  }

  canProduce(kind) {
    return this.extended.codecs.some((c) => c.kind === kind);
  }

  /** §6.6 check the client makes: the consumer's first codec must carry a router payload type we negotiated. */
  canReceive(rtpParameters) {
    const first = rtpParameters?.codecs?.[0];
    return !!first && !isRtx(first) && this.rtpCapabilities.codecs.some((c) => c.preferredPayloadType === first.payloadType);
  }

  createSendTransport(config, options) {
    return new SendTransport(this, config, options);
  }

  createRecvTransport(config, options) {
    return new RecvTransport(this, config, options);
  }

  _recvCapabilities() {
    const codecs = [];
    for (const ec of this.extended.codecs) {
      const codec = {mimeType: ec.mimeType, kind: ec.kind, preferredPayloadType: ec.remotePayloadType, clockRate: ec.clockRate};
      if (ec.kind === 'audio') codec.channels = ec.channels;
      codecs.push(Object.assign(codec, {parameters: ec.localParameters, rtcpFeedback: ec.rtcpFeedback}));
      if (ec.remoteRtxPayloadType !== undefined) {
        codecs.push({mimeType: `${ec.kind}/rtx`, kind: ec.kind, preferredPayloadType: ec.remoteRtxPayloadType,
          clockRate: ec.clockRate, parameters: {apt: ec.remotePayloadType}, rtcpFeedback: []});
      }
    }
    const headerExtensions = this.extended.headerExtensions
      .filter((e) => e.direction === 'sendrecv' || e.direction === 'recvonly')
      .map((e) => ({kind: e.kind, uri: e.uri, preferredId: e.recvId, preferredEncrypt: false, direction: e.direction}));
    return clone({codecs, headerExtensions});
  }

  /**
   * Producer parameters (§6.5) or, with remote = true, the ones the fabricated answer uses (§6.6 end). Payload types
   * and extension ids are the browser's; they are read again from the m-section of the actual offer (`offer`, `mid`),
   * as newer mediasoup-client versions do: a one-kind offer numbers extensions differently from the audio+video
   * offer `load` parsed.
   */
  _sendingParameters(kind, {remote = false, offer, mid} = {}) {
    const extended = offer ? extendedCapabilities(nativeCapabilities(offer, mid), this.routerCapabilities) : this.extended;
    const ec = extended.codecs.find((c) => c.kind === kind);
    if (!ec) return null;
    const headerExtensions = extended.headerExtensions
      .filter((e) => e.kind === kind && (e.direction === 'sendrecv' || e.direction === 'sendonly'))
      .map((e) => ({uri: e.uri, id: e.sendId, encrypt: false, parameters: {}}));
    let rtcpFeedback = ec.rtcpFeedback;
    if (remote) {
      const has = (uri) => headerExtensions.some((e) => e.uri === uri);
      const drop = has(TRANSPORT_CC) ? ['goog-remb'] : has(ABS_SEND_TIME) ? ['transport-cc'] : ['goog-remb', 'transport-cc'];
      rtcpFeedback = rtcpFeedback.filter((f) => !drop.includes(f.type));
    }
    const media = {mimeType: ec.mimeType, payloadType: ec.localPayloadType, clockRate: ec.clockRate};
    if (kind === 'audio') media.channels = ec.channels;
    Object.assign(media, {parameters: remote ? ec.remoteParameters : ec.localParameters, rtcpFeedback});
    const codecs = [media];
    if (ec.localRtxPayloadType !== undefined) {
      codecs.push({mimeType: `${kind}/rtx`, payloadType: ec.localRtxPayloadType, clockRate: ec.clockRate,
        parameters: {apt: ec.localPayloadType}, rtcpFeedback: []});
    }
    return clone({codecs, headerExtensions});
  }
}

// ----------------------------------------------------------------------------------------------------------------
// Transports: one RTCPeerConnection each; the server's side of the SDP is written here from the transport config.

const mediaName = (mimeType) => mimeType.split('/')[1];
const fmtpLine = (pt, params) => {
  const config = Object.entries(params).map(([k, v]) => `${k}=${v}`).join(';');
  return config ? [`a=fmtp:${pt} ${config}`] : [];
};

function codecLines(codecs) {
  const lines = [];
  for (const c of codecs) {
    lines.push(`a=rtpmap:${c.payloadType} ${mediaName(c.mimeType)}/${c.clockRate}${c.channels > 1 ? '/' + c.channels : ''}`);
    lines.push(...fmtpLine(c.payloadType, c.parameters ?? {}));
    for (const f of c.rtcpFeedback ?? []) lines.push(`a=rtcp-fb:${c.payloadType} ${f.type}${f.parameter ? ' ' + f.parameter : ''}`);
  }
  return lines;
}

function dtlsParametersOf(localSdp, role) {
  const fingerprint = parseSdp(localSdp).media.find((m) => m.fingerprint)?.fingerprint;
  if (!fingerprint) throw new Error('no a=fingerprint in the local description');
  return {role, fingerprints: [fingerprint]};
}

class Transport {
  constructor(device, config, {onConnect, iceServers = [], iceTransportPolicy = 'all'} = {}) {
    if (typeof config?.id !== 'string' || !config.iceParameters || !Array.isArray(config.iceCandidates) ||
        !config.dtlsParameters?.fingerprints?.length) {
      throw new TypeError('invalid transport config');
    }
    this.id = config.id;
    this.device = device;
    this.config = config;
    this.onConnect = onConnect;        // async (dtlsParameters) => void, awaited before the first local description
    this.pc = new RTCPeerConnection({iceServers, iceTransportPolicy, bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require'});
    this.dtlsParameters = null;
    this.closed = false;
    this._sdpVersion = 0;
    this._queue = Promise.resolve();
  }

  /** Closes the transport, or with an argument only that consumer/producer. */
  close(item) {
    if (item) return item.close();
    this.closed = true;
    this.pc.close();
  }

  getStats() {
    return this.pc.getStats();
  }

  /** Serialises SDP work on this peer connection. */
  _enqueue(task) {
    const run = this._queue.then(() => {
      if (this.closed) throw new Error('transport closed');
      return task();
    });
    this._queue = run.catch(() => {});
    return run;
  }

  async _connectOnce(localSdp, role) {
    if (this.dtlsParameters) return;
    const dtlsParameters = dtlsParametersOf(localSdp, role);
    await this.onConnect?.(dtlsParameters);
    this.dtlsParameters = dtlsParameters;
  }

  _sessionLines(mids) {
    const fingerprint = this.config.dtlsParameters.fingerprints.at(-1);   // mediasoup-client uses the last one
    return ['v=0', `o=sfu-client 10000 ${this._sdpVersion++} IN IP4 0.0.0.0`, 's=-', 't=0 0', 'a=ice-lite',
      `a=fingerprint:${fingerprint.algorithm} ${fingerprint.value}`, 'a=msid-semantic: WMS *',
      `a=group:BUNDLE ${mids.join(' ')}`];
  }

  _iceLines(setup) {
    const {usernameFragment, password} = this.config.iceParameters;
    const candidates = this.config.iceCandidates.map((c) =>
      `a=candidate:${c.foundation} 1 ${c.protocol} ${c.priority} ${c.ip ?? c.address} ${c.port} typ ${c.type}` +
      (c.tcpType ? ` tcptype ${c.tcpType}` : ''));
    return [`a=ice-ufrag:${usernameFragment}`, `a=ice-pwd:${password}`, ...candidates, 'a=end-of-candidates',
      'a=ice-options:renomination', `a=setup:${setup}`];
  }
}

const ANSWER_DIRECTION = {sendonly: 'recvonly', recvonly: 'sendonly', sendrecv: 'sendrecv', inactive: 'inactive'};

export class SendTransport extends Transport {
  constructor(device, config, options = {}) {
    super(device, config, options);
    this.onProduce = options.onProduce;   // async ({kind, rtpParameters, appData}) => {id}
    // Simulcast RIDs are r<firstRid>, r<firstRid+1>…: r1,r2,r3 by default (docs/protocol.md §6.5); mediasoup-client's
    // handlers number them from r0.
    this.firstRid = options.firstRid ?? 1;
    this._answers = new Map();            // mid -> {codecs, headerExtensions, codecOptions}
    this._stream = new MediaStream();
  }

  /** §6.5: adds a sendonly transceiver, applies our fabricated answer, asks the server for a producer id. */
  produce({track, encodings, codecOptions = {}, zeroRtpOnPause = false, appData = {}} = {}) {
    return this._enqueue(async () => {
      const kind = track?.kind;
      if (!this.device.canProduce(kind)) throw new Error(`cannot produce ${kind}`);
      const simulcast = Array.isArray(encodings) && encodings.length > 1;
      const normalized = (encodings ?? []).map((e, i) => ({active: true, ...e,
        ...(simulcast ? {rid: `r${i + this.firstRid}`, scalabilityMode: 'L1T3'} : {})}));
      const transceiver = this.pc.addTransceiver(track, {direction: 'sendonly', streams: [this._stream],
        sendEncodings: normalized.length ? normalized : undefined});
      try {
        const offer = await this.pc.createOffer();
        await this._connectOnce(offer.sdp, 'client');
        await this.pc.setLocalDescription(offer);
        const mid = transceiver.mid;
        const offerMedia = parseSdp(offer.sdp).media.find((m) => m.mid === mid);
        const remote = this.device._sendingParameters(kind, {remote: true, offer: offer.sdp, mid});
        if (!remote) throw new Error(`no codec for ${kind} in the offer`);
        if (kind === 'audio' && !codecOptions.opusNack) {
          remote.codecs[0].rtcpFeedback = remote.codecs[0].rtcpFeedback.filter((f) => f.type !== 'nack' || f.parameter);
        }
        this._answers.set(mid, {codecs: remote.codecs, headerExtensions: remote.headerExtensions, codecOptions});
        await this.pc.setRemoteDescription({type: 'answer', sdp: this._answerSdp()});
        const rtpParameters = this._rtpParameters(kind, offer.sdp, offerMedia, normalized, simulcast);
        const {id} = (await this.onProduce?.({kind, rtpParameters, appData})) ?? {};
        if (typeof id !== 'string') throw new Error('INIT_PRODUCER answered without an id');
        return new Producer(this, {id, kind, track, transceiver, rtpParameters, appData, zeroRtpOnPause});
      } catch (error) {
        await this._stopSending(transceiver).catch(() => {});
        throw error;
      }
    });
  }

  _rtpParameters(kind, offerSdp, offer, encodings, simulcast) {
    const local = this.device._sendingParameters(kind, {offer: offerSdp, mid: offer.mid});
    const cname = offer.ssrcs.find((s) => s.attribute === 'cname')?.value ?? '';
    if (!simulcast) {
      const ssrc = offer.ssrcs[0]?.ssrc;
      const fid = offer.ssrcGroups.find((g) => g.semantics === 'FID' && g.ssrcs[0] === ssrc);
      encodings = [{...(encodings[0] ?? {}), ssrc, ...(fid ? {rtx: {ssrc: fid.ssrcs[1]}} : {})}];
    }
    return {mid: offer.mid, codecs: local.codecs, headerExtensions: local.headerExtensions,
      encodings: encodings.map((e) => ({...e, dtx: false})), rtcp: {cname, reducedSize: true}};
  }

  /** The remote answer, one m-section per m-section of the current local offer (§6.6 end, "Client SDP for the send transport"). */
  _answerSdp() {
    const offer = parseSdp(this.pc.localDescription.sdp);
    const body = [];
    const mids = [];
    for (const m of offer.media) {
      const answer = this._answers.get(m.mid);
      if (!answer || (m.port === 0 && !m.bundleOnly)) {
        body.push(`m=${m.kind} 0 UDP/TLS/RTP/SAVPF ${m.pts[0] ?? 0}`, 'c=IN IP4 127.0.0.1', `a=mid:${m.mid}`, 'a=inactive');
        continue;
      }
      mids.push(m.mid);
      const codecs = answer.codecs.map((c, i) => (i === 0 && m.kind === 'video' ? withBitrates(c, answer.codecOptions) : c));
      body.push(`m=${m.kind} 7 UDP/TLS/RTP/SAVPF ${codecs.map((c) => c.payloadType).join(' ')}`, 'c=IN IP4 127.0.0.1',
        ...this._iceLines('passive'), `a=mid:${m.mid}`, `a=${ANSWER_DIRECTION[m.direction] ?? 'recvonly'}`,
        ...codecLines(codecs));
      for (const e of answer.headerExtensions) body.push(`a=extmap:${e.id} ${e.uri}`);
      if (m.extmapAllowMixed) body.push('a=extmap-allow-mixed');
      if (m.rids.length) {
        for (const r of m.rids) body.push(`a=rid:${r.id} recv`);
        body.push(`a=simulcast:recv ${m.rids.map((r) => r.id).join(';')}`);
      }
      body.push('a=rtcp-mux', 'a=rtcp-rsize');
    }
    return [...this._sessionLines(mids), ...body].join('\r\n') + '\r\n';
  }

  async _renegotiate() {
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    await this.pc.setRemoteDescription({type: 'answer', sdp: this._answerSdp()});
  }

  async _stopSending(transceiver) {
    if (this.pc.signalingState === 'have-local-offer') await this.pc.setLocalDescription({type: 'rollback'});
    if (transceiver.mid === null) {
      transceiver.stop();
      return;
    }
    await transceiver.sender.replaceTrack(null);
    // Stopping the first m-section would leave the BUNDLE group without its tag: disable it instead (as
    // mediasoup-client does); other m-sections are stopped (port 0) and Chromium may recycle them later.
    if (parseSdp(this.pc.localDescription.sdp).media[0]?.mid === transceiver.mid) {
      transceiver.direction = 'inactive';
    } else {
      this._answers.delete(transceiver.mid);
      transceiver.stop();
    }
    await this._renegotiate();
  }
}

function withBitrates(codec, {videoGoogleStartBitrate: start, videoGoogleMaxBitrate: max, videoGoogleMinBitrate: min} = {}) {
  const parameters = {...codec.parameters};
  if (start !== undefined) parameters['x-google-start-bitrate'] = start;
  if (max !== undefined) parameters['x-google-max-bitrate'] = max;
  if (min !== undefined) parameters['x-google-min-bitrate'] = min;
  return {...codec, parameters};
}

export class Producer {
  constructor(transport, {id, kind, track, transceiver, rtpParameters, appData, zeroRtpOnPause}) {
    Object.assign(this, {transport, id, kind, track, transceiver, rtpParameters, appData, zeroRtpOnPause});
    this.paused = false;
    this.closed = false;
  }

  async replaceTrack(track) {
    await this.transceiver.sender.replaceTrack(track);
    this.track = track;
  }

  /** With zeroRtpOnPause the m-section goes inactive (renegotiated), otherwise the track is disabled. */
  pause() {
    return this._setPaused(true);
  }

  resume() {
    return this._setPaused(false);
  }

  async _setPaused(paused) {
    if (this.paused === paused || this.closed) return;
    this.paused = paused;
    if (this.track) this.track.enabled = !paused;
    if (!this.zeroRtpOnPause) return;
    await this.transport._enqueue(async () => {
      this.transceiver.direction = paused ? 'inactive' : 'sendonly';
      await this.transport._renegotiate();
    });
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    await this.transport._enqueue(() => this.transport._stopSending(this.transceiver)).catch(() => {});
  }

  async stats() {
    return summarizeRtp(await this.transceiver.sender.getStats());
  }
}

export class RecvTransport extends Transport {
  constructor(device, config, options = {}) {
    super(device, config, options);
    this._sections = [];    // our offer's m-sections, in order: {mid, kind, closed, disabled, paused, consumerId, rtpParameters}
    this._midCounter = 0;
  }

  /** §6.6: adds (or recycles) one m-section of our remote offer for this consumer. */
  consume({id, producerId, kind, rtpParameters}) {
    return this._enqueue(async () => {
      if (typeof id !== 'string' || typeof producerId !== 'string') throw new TypeError('consumer id/producerId must be strings');
      if (kind !== 'audio' && kind !== 'video') throw new TypeError(`invalid kind ${kind}`);
      if (!this.device.canReceive(rtpParameters)) throw new Error('cannot consume these rtpParameters');
      const mid = rtpParameters.mid ?? String(this._midCounter++);
      if (this._sections.some((s) => s.mid === mid && !s.closed)) throw new Error(`mid ${mid} already in use`);
      const section = {mid, kind, consumerId: id, rtpParameters, closed: false, disabled: false, paused: false};
      const free = this._sections.findIndex((s) => s.closed && s.kind === kind);
      if (free >= 0) this._sections[free] = section;
      else this._sections.push(section);
      // Like mediasoup-client, the first video consumer also brings the "probator" m-section (mediasoup's
      // bandwidth probation stream: SSRC 1234, payload type 127, §5.1 step 7).
      if (kind === 'video' && !this._sections.some((s) => s.mid === 'probator')) {
        this._sections.push({mid: 'probator', kind, consumerId: 'probator', closed: false, disabled: false, paused: false,
          rtpParameters: {codecs: [{...rtpParameters.codecs[0], payloadType: 127}], encodings: [{ssrc: 1234}],
            headerExtensions: rtpParameters.headerExtensions, rtcp: {cname: 'probator'}}});
      }
      await this._negotiate();
      const transceiver = this.pc.getTransceivers().find((t) => t.mid === mid);
      if (!transceiver) throw new Error(`no transceiver for mid ${mid}`);
      return new Consumer(this, {id, producerId, kind, rtpParameters, transceiver, section});
    });
  }

  async _negotiate() {
    await this.pc.setRemoteDescription({type: 'offer', sdp: this._offerSdp()});
    const answer = await this.pc.createAnswer();
    const setup = parseSdp(answer.sdp).media.find((m) => m.setup)?.setup;
    await this._connectOnce(answer.sdp, setup === 'active' ? 'client' : setup === 'passive' ? 'server' : 'auto');
    await this.pc.setLocalDescription(answer);
  }

  _offerSdp() {
    const body = [];
    for (const s of this._sections) {
      const {codecs, headerExtensions = [], encodings = [], rtcp = {}} = s.rtpParameters;
      const live = !s.closed && !s.disabled;
      const direction = live && !s.paused ? 'sendonly' : 'inactive';
      body.push(`m=${s.kind} ${s.closed ? 0 : 7} UDP/TLS/RTP/SAVPF ${codecs.map((c) => c.payloadType).join(' ')}`,
        'c=IN IP4 127.0.0.1', ...this._iceLines('actpass'), `a=mid:${s.mid}`, `a=${direction}`, ...codecLines(codecs));
      if (s.closed) continue;
      body.push('a=rtcp-mux', 'a=rtcp-rsize');
      if (s.disabled) continue;
      const cname = rtcp.cname;
      body.push(`a=msid:${cname || '-'} ${s.consumerId}`);
      for (const e of headerExtensions) body.push(`a=extmap:${e.id} ${e.uri}`);
      const {ssrc, rtx} = encodings[0] ?? {};
      if (cname && ssrc !== undefined) {
        body.push(`a=ssrc:${ssrc} cname:${cname}`);
        if (rtx?.ssrc !== undefined) body.push(`a=ssrc:${rtx.ssrc} cname:${cname}`, `a=ssrc-group:FID ${ssrc} ${rtx.ssrc}`);
      }
    }
    const mids = this._sections.filter((s) => !s.closed).map((s) => s.mid);
    return [...this._sessionLines(mids), ...body].join('\r\n') + '\r\n';
  }

  _updateSection(section, change) {
    return this._enqueue(async () => {
      const index = this._sections.indexOf(section);
      if (index < 0) return;
      const transceiver = this.pc.getTransceivers().find((t) => t.mid === section.mid);
      if (change === 'close') {
        // Closing the first m-section would break the BUNDLE transport: disable it instead (as mediasoup-client does).
        if (index === 0) section.disabled = true;
        else section.closed = true;
      } else {
        section.paused = change === 'pause';
      }
      if (transceiver && !transceiver.stopped) {
        transceiver.direction = section.closed || section.disabled || section.paused ? 'inactive' : 'recvonly';
      }
      await this._negotiate();
    });
  }
}

export class Consumer {
  constructor(transport, {id, producerId, kind, rtpParameters, transceiver, section}) {
    Object.assign(this, {transport, id, producerId, kind, rtpParameters, transceiver, _section: section});
    this.track = transceiver.receiver.track;
    this.paused = false;
    this.closed = false;
  }

  get mid() {
    return this._section.mid;
  }

  /** Local pause: the m-section goes inactive (no message to the server, §5.1 step 7). */
  async pause() {
    if (this.paused || this.closed) return;
    this.paused = true;
    this.track.enabled = false;
    await this.transport._updateSection(this._section, 'pause');
  }

  async resume() {
    if (!this.paused || this.closed) return;
    this.paused = false;
    this.track.enabled = true;
    await this.transport._updateSection(this._section, 'resume');
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    this.track.stop();
    if (!this.transport.closed) await this.transport._updateSection(this._section, 'close').catch(() => {});
  }

  async stats() {
    return summarizeRtp(await this.transceiver.receiver.getStats());
  }
}

// ----------------------------------------------------------------------------------------------------------------
// Stats summaries (JSON-serialisable).

const RTP_FIELDS = ['ssrc', 'kind', 'rid', 'packetsSent', 'bytesSent', 'framesEncoded', 'framesSent', 'packetsReceived',
  'bytesReceived', 'packetsLost', 'jitter', 'framesDecoded', 'keyFramesDecoded', 'framesDropped', 'freezeCount',
  'nackCount', 'pliCount', 'firCount', 'frameWidth', 'frameHeight', 'framesPerSecond', 'totalSamplesReceived',
  'concealedSamples', 'audioLevel', 'retransmittedPacketsSent', 'qualityLimitationReason', 'decoderImplementation',
  'encoderImplementation', 'active', 'scalabilityMode'];

function pick(report, fields) {
  const out = {};
  for (const f of fields) if (report[f] !== undefined) out[f] = report[f];
  return out;
}

export function summarizeRtp(report) {
  const out = {inbound: [], outbound: [], remoteInbound: []};
  report.forEach((r) => {
    const codec = r.codecId && report.get(r.codecId);
    const entry = {...pick(r, RTP_FIELDS), ...(codec ? {mimeType: codec.mimeType, payloadType: codec.payloadType} : {})};
    if (r.type === 'inbound-rtp') out.inbound.push(entry);
    else if (r.type === 'outbound-rtp') out.outbound.push(entry);
    else if (r.type === 'remote-inbound-rtp') out.remoteInbound.push(pick(r, ['ssrc', 'kind', 'packetsLost', 'fractionLost', 'roundTripTime', 'jitter']));
  });
  return out;
}

export async function transportStats(transport) {
  if (!transport) return null;
  const {pc} = transport;
  const out = {connectionState: pc.connectionState, iceConnectionState: pc.iceConnectionState, signalingState: pc.signalingState};
  const report = await pc.getStats();
  report.forEach((r) => {
    if (r.type !== 'transport') return;
    Object.assign(out, pick(r, ['dtlsState', 'iceState', 'dtlsRole', 'tlsVersion', 'dtlsCipher', 'srtpCipher', 'bytesSent', 'bytesReceived']));
    const pair = r.selectedCandidatePairId && report.get(r.selectedCandidatePairId);
    if (pair) {
      const address = (id) => { const c = report.get(id); return c && `${c.protocol} ${c.address}:${c.port}`; };
      out.selectedCandidatePair = {state: pair.state, nominated: pair.nominated, local: address(pair.localCandidateId),
        remote: address(pair.remoteCandidateId), currentRoundTripTime: pair.currentRoundTripTime};
    }
  });
  return out;
}

// ----------------------------------------------------------------------------------------------------------------
// SfuClient: odoo/sfu's client behaviour (§3, §5) on top of the pieces above.

export const STATE = Object.freeze({DISCONNECTED: 'disconnected', CONNECTING: 'connecting', AUTHENTICATED: 'authenticated',
  CONNECTED: 'connected', RECOVERING: 'recovering', CLOSED: 'closed'});
const TYPES = ['audio', 'camera', 'screen'];
const DEFAULT_PRODUCER_OPTIONS = {stopTracks: false, disableTrackOnPause: false, zeroRtpOnPause: true};
const MAX_ERRORS = 6;

export class SfuClient extends EventTarget {
  constructor({reconnect = true, firstRid = 1} = {}) {
    super();
    this.reconnect = reconnect;
    this.firstRid = firstRid;
    this.state = STATE.DISCONNECTED;
    this.errors = [];
    this.device = null;
    this.bus = null;
    this.sendTransport = null;
    this.recvTransport = null;
    this.producers = {audio: null, camera: null, screen: null};
    this.consumers = new Map();   // sessionId -> {audio, camera, screen}
    this.producerOptionsByKind = null;
    this._cleanups = [];
    this._retryDelay = 1000;
  }

  /** Opens the WebSocket, sends the credentials (§3.2) and resolves once the server's ack arrived (or it failed). */
  connect(url, jwt, {channelUUID, iceServers} = {}) {
    this._url = url.replace(/^http/, 'ws');
    this._jwt = jwt;
    this._channelUUID = channelUUID;
    this._iceServers = iceServers;
    this._retryDelay = 1000;
    this.device = new Device();
    return this._open();
  }

  disconnect() {
    this._clear();
    this._setState(STATE.DISCONNECTED);
  }

  updateInfo(info, {needRefresh} = {}) {
    this.bus?.send({name: 'C_INFO_CHANGE', payload: {info, needRefresh}}, {batch: true});
  }

  broadcast(message) {
    this.bus?.send({name: 'BROADCAST', payload: message}, {batch: true});
  }

  /** Stops/resumes local consumers of a remote session and tells the server (§5.8) if anything changed. */
  updateDownload(sessionId, states) {
    const consumers = this.consumers.get(sessionId);
    if (!consumers) return false;
    let changed = false;
    for (const [type, active] of Object.entries(states)) {
      const consumer = TYPES.includes(type) && consumers[type];
      if (!consumer || active !== consumer.paused) continue;
      changed = true;
      (active ? consumer.resume() : consumer.pause()).catch((e) => this._error(e));
    }
    if (changed) this.bus?.send({name: 'CONSUMPTION_CHANGE', payload: {sessionId, states}}, {batch: true});
    return changed;
  }

  /** Produces `track` as `type`, or (existing producer) swaps the track and sends PRODUCTION_CHANGE (§5.7). */
  async updateUpload(type, track) {
    if (!TYPES.includes(type)) throw new Error(`unsupported type ${type}`);
    clearTimeout(this._retryTimers?.[type]);
    const existing = this.producers[type];
    if (existing) {
      await existing.replaceTrack(track ?? null);
      this.bus?.send({name: 'PRODUCTION_CHANGE', payload: {type, active: Boolean(track)}}, {batch: true});
      return existing;
    }
    if (!track || !this.sendTransport) return null;
    const options = this.producerOptionsByKind?.[track.kind] ?? DEFAULT_PRODUCER_OPTIONS;
    const transport = this.sendTransport;
    try {
      const producer = await transport.produce({...options, track, appData: {type}});
      if (transport !== this.sendTransport) return null;    // the connection ended meanwhile
      return (this.producers[type] = producer);
    } catch (error) {
      if (transport !== this.sendTransport) return null;
      this._error(error);
      if (this.errors.length > MAX_ERRORS) {
        this._onConnectionEnd();
        return null;
      }
      this._retryTimers = {...this._retryTimers, [type]: setTimeout(() => this.updateUpload(type, track), 1000)};
      return null;
    }
  }

  /** Per transport ICE/DTLS state and per producer/consumer RTP figures, JSON-serialisable. */
  async stats() {
    const out = {state: this.state, send: await transportStats(this.sendTransport),
      recv: await transportStats(this.recvTransport), producers: {}, consumers: []};
    for (const type of TYPES) {
      const p = this.producers[type];
      if (p) out.producers[type] = {id: p.id, kind: p.kind, mid: p.rtpParameters.mid, ...(await p.stats())};
    }
    for (const [sessionId, consumers] of this.consumers) {
      for (const type of TYPES) {
        const c = consumers[type];
        if (c) out.consumers.push({sessionId, type, id: c.id, kind: c.kind, mid: c.mid, paused: c.paused, ...(await c.stats())});
      }
    }
    return out;
  }

  _setState(state, cause) {
    this.state = state;
    this.dispatchEvent(new CustomEvent('stateChange', {detail: {state, cause}}));
  }

  _update(name, payload) {
    this.dispatchEvent(new CustomEvent('update', {detail: {name, payload}}));
  }

  _error(error) {
    this.errors.push(error);
    this._update('error', {message: String(error?.message ?? error)});
  }

  _open() {
    if ([STATE.CONNECTING, STATE.AUTHENTICATED, STATE.CONNECTED].includes(this.state)) return Promise.resolve();
    this._clear();
    this._setState(STATE.CONNECTING);
    return new Promise((resolve) => {
      let ws;
      try {
        ws = new WebSocket(this._url);
      } catch (error) {
        this._onConnectionEnd();
        resolve();
        return;
      }
      const onEnd = (event) => {
        ws.removeEventListener('close', onEnd);
        ws.removeEventListener('error', onEnd);
        this._onConnectionEnd(event);
        resolve();
      };
      ws.addEventListener('close', onEnd);
      ws.addEventListener('error', onEnd);
      ws.addEventListener('open', () => {
        ws.send(JSON.stringify(this._channelUUID ? {channelUUID: this._channelUUID, jwt: this._jwt} : this._jwt));
      }, {once: true});
      ws.addEventListener('message', () => {   // any first frame is the ack (§3.2 step 4)
        this.bus = new Bus(ws);
        this.bus.onMessage = (message) => this._handleMessage(message);
        this.bus.onRequest = (message) => this._handleRequest(message);
        this.bus.onError = (error) => this._error(error);
        this._setState(STATE.AUTHENTICATED);
        resolve();
      }, {once: true});
      this._cleanups.push(() => {
        ws.removeEventListener('close', onEnd);
        ws.removeEventListener('error', onEnd);
        if (ws.readyState < WebSocket.CLOSING) ws.close(1000);
      });
    });
  }

  /** §3.3: 4106/4108/4109 end the client, anything else reconnects with backoff. */
  _onConnectionEnd(event) {
    if (this.state === STATE.DISCONNECTED || this.state === STATE.CLOSED) return;
    const code = event?.code;
    if (code === 4106 || code === 4108 || code === 4109) {
      this._clear();
      this._setState(STATE.CLOSED, code === 4109 ? 'full' : undefined);
      return;
    }
    this._clear();
    if (!this.reconnect) {
      this._setState(STATE.CLOSED, `closed ${code ?? 'error'}`);
      return;
    }
    this._setState(STATE.RECOVERING, code);
    this._retryDelay = Math.min(this._retryDelay * 1.5, 30000) + 1000 * Math.random();
    const timer = setTimeout(() => this._open(), this._retryDelay);
    this._cleanups.push(() => clearTimeout(timer));
  }

  _clear() {
    for (const cleanup of this._cleanups.splice(0)) cleanup();
    for (const timer of Object.values(this._retryTimers ?? {})) clearTimeout(timer);
    this.bus?.close();
    this.bus = null;
    for (const consumers of this.consumers.values()) for (const c of Object.values(consumers)) c?.close();
    this.consumers.clear();
    this.producers = {audio: null, camera: null, screen: null};
    this.sendTransport?.close();
    this.recvTransport?.close();
    this.sendTransport = this.recvTransport = null;
    this.errors = [];
  }

  _handleMessage({name, payload} = {}) {
    switch (name) {
      case 'SESSION_LEAVE': {
        const consumers = this.consumers.get(payload?.sessionId);
        for (const c of Object.values(consumers ?? {})) c?.close();
        this.consumers.delete(payload?.sessionId);
        this._update('disconnect', payload);
        break;
      }
      case 'S_INFO_CHANGE':
        this._update('info_change', payload);
        break;
      case 'BROADCAST':
        this._update('broadcast', payload);
        break;
    }
  }

  async _handleRequest({name, payload} = {}) {
    switch (name) {
      case 'INIT_TRANSPORTS': {
        const {capabilities, stcConfig, ctsConfig, producerOptionsByKind} = payload;
        if (producerOptionsByKind) this.producerOptionsByKind = producerOptionsByKind;
        if (!this.device.loaded) await this.device.load({routerRtpCapabilities: capabilities});
        const bus = this.bus;
        const hooks = {iceServers: this._iceServers, firstRid: this.firstRid};
        this.recvTransport = this.device.createRecvTransport(stcConfig, {...hooks,
          onConnect: (dtlsParameters) => bus.request({name: 'CONNECT_STC_TRANSPORT', payload: {dtlsParameters}})});
        this.sendTransport = this.device.createSendTransport(ctsConfig, {...hooks,
          onConnect: (dtlsParameters) => bus.request({name: 'CONNECT_CTS_TRANSPORT', payload: {dtlsParameters}}),
          onProduce: ({kind, rtpParameters, appData}) =>
            bus.request({name: 'INIT_PRODUCER', payload: {type: appData.type, kind, rtpParameters}})});
        this._setState(STATE.CONNECTED);
        return this.device.rtpCapabilities;
      }
      case 'INIT_CONSUMER': {
        const {id, kind, producerId, rtpParameters, sessionId, active, type} = payload;
        let consumers = this.consumers.get(sessionId);
        if (!consumers) this.consumers.set(sessionId, (consumers = {audio: null, camera: null, screen: null}));
        else consumers[type]?.close();
        const consumer = await this.recvTransport.consume({id, producerId, kind, rtpParameters});
        if (!active) await consumer.pause();
        consumers[type] = consumer;
        this._update('track', {type, sessionId, track: consumer.track, active});
        return undefined;
      }
      default:
        return undefined;   // PING and unknown requests: an empty response
    }
  }
}
