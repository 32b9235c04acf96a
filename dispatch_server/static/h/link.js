// The patrol socket, kept open for as long as the page is: hello with the device token,
// reconnect with a growing pause, and give up for good on 4401 (a revoked device: the
// server says this token must not come back).

const PAUSES_MS = [500, 1000, 2000, 4000, 8000];
const HELLO_WAIT_MS = 10_000;
const OFFLINE_RETRY_MS = 30_000;

export class Link {
  /** `onFrame(frame)` gets every frame after `welcome` (which comes to `onWelcome`);
   *  `onState(state)` hears "connecting", "online", "offline" and "revoked". */
  constructor({token, onWelcome, onFrame, onState}) {
    this.token = token;
    this.onWelcome = onWelcome;
    this.onFrame = onFrame;
    this.onState = onState;
    this.ws = null;
    this.failures = 0;
    this.timer = null;
    this.stopped = false;
    this.state = "offline";
    addEventListener("online", () => this.now());
    addEventListener("offline", () => this.drop());
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000, "signed out");
  }

  get online() {
    return this.state === "online";
  }

  /** Send a frame if the link is up; false if it is not (the caller keeps what must not
   *  be lost, and sends it again after the next welcome). */
  send(frame) {
    if (!this.online) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Close and open again: the link looks up but the server does not answer. */
  restart() {
    if (this.ws) this.ws.close(4000, "no answer");
  }

  /** The network is back: do not wait out the pause. */
  now() {
    if (this.stopped || this.ws) return;
    clearTimeout(this.timer);
    this.failures = 0;
    this.connect();
  }

  /** The phone says it lost the network: close at once rather than wait for a timeout, so
   *  the screen says "no network" now. */
  drop() {
    if (this.ws) this.ws.close(4000, "offline");
  }

  setState(state) {
    this.state = state;
    this.onState(state);
  }

  connect() {
    if (this.stopped || this.ws) return;
    if (!navigator.onLine) {
      // The `online` event brings it back at once; this slow round is in case it never comes.
      this.setState("offline");
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.connect(), OFFLINE_RETRY_MS);
      return;
    }
    this.setState("connecting");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/ws/patrol`);
    this.ws = ws;
    let welcomed = false;
    const helloTimer = setTimeout(() => ws.close(4000, "no welcome"), HELLO_WAIT_MS);
    ws.onopen = () => ws.send(JSON.stringify({type: "hello", token: this.token}));
    ws.onmessage = (msg) => {
      let frame;
      try { frame = JSON.parse(msg.data); } catch { ws.close(4000, "unreadable frame"); return; }
      if (!welcomed) {
        if (frame.type !== "welcome") return;
        welcomed = true;
        clearTimeout(helloTimer);
        this.failures = 0;
        this.setState("online");
        this.onWelcome(frame);
        return;
      }
      this.onFrame(frame);
    };
    ws.onclose = (event) => {
      clearTimeout(helloTimer);
      this.ws = null;
      // 4401 also means "no hello in time" (a stalled link): only a token the server no
      // longer knows signs the phone out.
      if (event.code === 4401 && /revoked|unknown/.test(event.reason)) {
        this.stopped = true;
        this.setState("revoked");
        return;
      }
      this.setState("offline");
      if (this.stopped) return;
      const pause = PAUSES_MS[Math.min(this.failures, PAUSES_MS.length - 1)];
      this.failures += 1;
      this.timer = setTimeout(() => this.connect(), pause);
    };
  }
}
