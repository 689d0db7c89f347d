// SciArena live rounds: the WebSocket client shared by the player, host and screen pages.
//
// It speaks only the round protocol (docs/protocol.md): the first message says who
// this is, then frames arrive. The server owns the game; this client only keeps the
// connection, the clock offset and the broadcast sequence number:
//
// * Clock: a few pings; for each pong, offset = server_now - (sent + received) / 2;
//   the sample with the smallest round trip wins. serverNow() = Date.now() + offset.
// * Sequence: every round-wide broadcast carries `seq`. A frame with seq <= last is a
//   duplicate and is dropped; one that is not last + 1 means frames were lost, so the
//   client asks for a snapshot and the page redraws from it.
// * Reconnects: jittered exponential backoff; the page's hello() decides how to come
//   back (a player resumes with its token).

const CLOSE_KICKED = 4001; // the server hangs up on a kicked player
const CLOSE_REPLACED = 4002; // another device took this player's seat (a roster slip)

const PING_SAMPLES = 5;
const PING_GAP_MS = 120;
const KEEPALIVE_MS = 20000;
const PONG_TIMEOUT_MS = 10000;
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 15000;

export function socketUrl(pin, path) {
  const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  return scheme + window.location.host + (path || "/ws/live/" + encodeURIComponent(pin) + "/");
}

export function randomId() {
  const bytes = new Uint8Array(12);
  window.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Jittered exponential backoff: half the capped exponential, plus up to as much again. */
export function backoffDelay(attempt, base = BACKOFF_BASE_MS, cap = BACKOFF_CAP_MS) {
  const ceiling = Math.min(cap, base * Math.pow(2, attempt));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

// `error` `retry` (docs/protocol.md): the server stored nothing of the message, so the
// pages send it again after a short jittered backoff; an answer (with its answer_id, so
// it is stored at most once) at most RETRY_TIMES times, then the player is told and may
// answer anew.
const RETRY_BASE_MS = 300;
const RETRY_CAP_MS = 4000;
const RETRY_TIMES = 5;

/** Run `send` after the retry backoff of `attempt` (0: the first). */
export function retryAfter(attempt, send) {
  return setTimeout(send, backoffDelay(attempt, RETRY_BASE_MS, RETRY_CAP_MS));
}

/** One more retry of an unacked `answer` (its `retries` counted): `resend` is scheduled,
 * or, past RETRY_TIMES, nothing is and the answer has failed (false). */
export function answerRetried(answer, resend) {
  answer.retries = (answer.retries || 0) + 1;
  if (answer.retries > RETRY_TIMES) {
    return false;
  }
  retryAfter(answer.retries - 1, resend);
  return true;
}

export class Clock {
  constructor() {
    this.offset = 0;
    this.bestRtt = Infinity;
    this.samples = 0;
  }

  /** A rough offset from a frame's server_now, until a ping has measured one. */
  hint(serverNow) {
    if (this.samples === 0 && typeof serverNow === "number") {
      this.offset = serverNow - Date.now();
    }
  }

  /** A pong: keep the offset of the sample with the smallest round trip. */
  sample(sent, serverNow, received) {
    const rtt = received - sent;
    if (rtt < 0) {
      return;
    }
    this.samples += 1;
    if (rtt <= this.bestRtt) {
      this.bestRtt = rtt;
      this.offset = serverNow - (sent + received) / 2;
    }
  }

  /** Forget the old samples (after a reconnect the path may differ) but keep the offset. */
  reset() {
    this.bestRtt = Infinity;
    this.samples = 0;
  }

  now() {
    return Date.now() + this.offset;
  }
}

export class LiveClient {
  /**
   * @param {object} options
   * @param {string} options.pin
   * @param {string} [options.path]  another socket's path (the 1-v-1 PK: "/ws/pk/")
   * @param {() => object} options.hello  the first message of each connection
   * @param {(frame: object) => void} options.onFrame  every frame that passes the seq check
   * @param {(state: string) => void} [options.onConnection]  "connecting" | "open" | "lost"
   */
  constructor({ pin, path, hello, onFrame, onConnection }) {
    this.pin = pin;
    this.url = socketUrl(pin, path);
    this.hello = hello;
    this.onFrame = onFrame;
    this.onConnection = onConnection || (() => {});
    this.clock = new Clock();
    this.ws = null;
    this.lastSeq = null; // seq of the last frame applied; null until a snapshot
    this.maxSeenSeq = -1;
    this.awaitingSnapshot = false;
    this.snapshotRequests = 0;
    this.attempt = 0;
    this.stopped = false;
    this.reconnectTimer = null;
    this.keepaliveTimer = null;
    this.pongTimer = null;
    this.sent = []; // the last messages sent, for tests and debugging
    this.onOnline = () => this.reconnectNow();
  }

  start() {
    this.stopped = false;
    window.addEventListener("online", this.onOnline);
    this.connect();
  }

  /** Stop for good (kicked, round over): no more reconnects. */
  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.onOnline);
    clearTimeout(this.reconnectTimer);
    this.stopTimers();
    if (this.ws) {
      this.ws.close(1000);
    }
  }

  connect() {
    clearTimeout(this.reconnectTimer);
    this.onConnection("connecting");
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener("open", () => {
      if (this.ws !== ws) {
        return;
      }
      this.lastSeq = null;
      this.maxSeenSeq = -1;
      this.awaitingSnapshot = false;
      this.clock.reset();
      this.send(this.hello());
      this.syncClock();
      this.keepalive();
    });
    ws.addEventListener("message", (event) => {
      if (this.ws === ws) {
        this.receive(event.data);
      }
    });
    ws.addEventListener("close", (event) => {
      if (this.ws !== ws) {
        return;
      }
      this.ws = null;
      this.stopTimers();
      if (event.code === CLOSE_KICKED || event.code === CLOSE_REPLACED) {
        this.stopped = true; // removed by the host, or the seat moved on: never reconnect
      }
      if (!this.stopped) {
        this.onConnection("lost");
        this.scheduleReconnect();
      }
    });
  }

  scheduleReconnect() {
    clearTimeout(this.reconnectTimer);
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    if (this.stopped || (this.ws && this.ws.readyState <= WebSocket.OPEN)) {
      return;
    }
    this.connect();
  }

  /** Drop the connection as a lost network would (the close handler reconnects). */
  dropConnection() {
    if (this.ws) {
      this.ws.close(4000);
    }
  }

  send(message) {
    this.sent.push(message);
    if (this.sent.length > 50) {
      this.sent.shift();
    }
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  requestSnapshot() {
    // The snapshot holds everything received so far (frames go out after commit, and
    // it is read after this request); only frames that come after it may be newer.
    this.maxSeenSeq = -1;
    this.awaitingSnapshot = true;
    this.snapshotRequests += 1;
    this.send({ type: "snapshot" });
  }

  syncClock() {
    for (let i = 0; i < PING_SAMPLES; i += 1) {
      setTimeout(() => this.ping(), i * PING_GAP_MS);
    }
  }

  ping() {
    if (this.send({ type: "ping", t: Date.now() }) && !this.pongTimer) {
      this.pongTimer = setTimeout(() => this.dropConnection(), PONG_TIMEOUT_MS);
    }
  }

  keepalive() {
    clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = setInterval(() => this.ping(), KEEPALIVE_MS);
  }

  stopTimers() {
    clearInterval(this.keepaliveTimer);
    clearTimeout(this.pongTimer);
    this.keepaliveTimer = null;
    this.pongTimer = null;
  }

  /** One frame's text from the socket (tests may inject frames here). */
  receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch (_error) {
      return;
    }
    if (!frame || typeof frame.type !== "string") {
      return;
    }
    this.handle(frame);
  }

  handle(frame) {
    if (frame.type === "pong") {
      clearTimeout(this.pongTimer);
      this.pongTimer = null;
      if (typeof frame.t === "number" && typeof frame.server_now === "number") {
        this.clock.sample(frame.t, frame.server_now, Date.now());
      }
      return;
    }
    if (frame.type === "welcome") {
      this.attempt = 0;
      this.onConnection("open");
    }
    if (frame.type === "snapshot") {
      this.clock.hint(frame.server_now);
      this.lastSeq = frame.seq;
      this.awaitingSnapshot = false;
      this.onFrame(frame);
      if (this.maxSeenSeq > frame.seq) {
        // A broadcast that came while waiting is newer than the snapshot: ask again.
        this.requestSnapshot();
      }
      return;
    }
    if (typeof frame.seq === "number") {
      this.maxSeenSeq = Math.max(this.maxSeenSeq, frame.seq);
      if (this.lastSeq === null || this.awaitingSnapshot) {
        return; // the snapshot on its way covers it (or is followed by another)
      }
      if (frame.seq <= this.lastSeq) {
        return; // a duplicate
      }
      if (frame.seq !== this.lastSeq + 1) {
        this.requestSnapshot(); // a gap: frames were lost
        return;
      }
      this.lastSeq = frame.seq;
      if (typeof frame.server_now === "number") {
        this.clock.hint(frame.server_now);
      }
    }
    this.onFrame(frame);
  }

  serverNow() {
    return this.clock.now();
  }
}
