// Photos and short clips for the member's own alarm: taken only after the alarm was
// accepted (the key never waits for a camera), kept in IndexedDB until the server has all
// of it, and sent in chunks that resume where the server says it stopped. The server keys
// each file by its SHA-256, so sending one again (a retry, a reload) never stores it twice.

import {uploads} from "./store.js";

export const CLIP_MAX_S = 30;
const CHUNK = 256 * 1024;
const RETRY_MS = [1000, 2000, 5000, 10_000, 30_000];

async function sha256(blob) {
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Keep a file for an incident; the uploader sends it when it can. */
export async function keep(incidentId, blob, kind, durationS = null) {
  const hash = await sha256(blob);
  const item = {
    key: `${incidentId}:${hash}`,
    incident_id: incidentId,
    sha256: hash,
    blob,
    kind,
    content_type: blob.type || (kind === "clip" ? "video/webm" : "image/jpeg"),
    duration_s: durationS,
    media_id: null,
    received: 0,
    state: "waiting",
    error: null,
    added_at: new Date().toISOString(),
  };
  await uploads.put(item);
  return item;
}

class Refused extends Error {}

async function call(token, method, path, body, headers = {}) {
  const res = await fetch(path, {
    method,
    headers: {Authorization: `Bearer ${token}`, ...headers},
    body,
  });
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  return {status: res.status, data};
}

function why(data, status) {
  const detail = data && data.detail;
  if (typeof detail === "string") return detail;
  return `HTTP ${status}`;
}

/** Send one file to the end; throws Refused when retrying cannot help (too large, wrong
 *  type), any other error when it can. */
async function send(token, item, onProgress, chunkBytes) {
  const meta = {sha256: item.sha256, size: item.blob.size, content_type: item.content_type, kind: item.kind};
  if (item.duration_s != null) meta.duration_s = item.duration_s;
  const made = await call(token, "POST", `/api/incidents/${item.incident_id}/media`,
    JSON.stringify(meta), {"Content-Type": "application/json"});
  if (made.status >= 400 && made.status < 500) throw new Refused(why(made.data, made.status));
  if (made.status >= 300) throw new Error(why(made.data, made.status));
  item.media_id = made.data.media_id;
  let received = made.data.received;
  let complete = made.data.complete;
  while (!complete) {
    const chunk = item.blob.slice(received, received + chunkBytes);
    const put = await call(token, "PUT", `/api/media/${item.media_id}/content?offset=${received}`,
      chunk, {"Content-Type": "application/octet-stream"});
    if (put.status === 409 && put.data && Number.isInteger(put.data.received)) {
      received = put.data.received; // the server has more (or less) than we thought: go on from there
      continue;
    }
    if (put.status >= 400 && put.status < 500) throw new Refused(why(put.data, put.status));
    if (put.status >= 300) throw new Error(why(put.data, put.status));
    received = put.data.received;
    complete = put.data.complete;
    item.received = received;
    onProgress(item);
  }
  item.received = item.blob.size;
}

/** Sends what waits, one file at a time, until it is all there; tells `onChange` the list. */
export class Uploader {
  constructor({token, onChange}) {
    this.token = token;
    this.onChange = onChange;
    this.running = false;
    this.failures = 0;
    this.timer = null;
    this.chunkBytes = CHUNK; // smaller on a poor link; the server takes up to 512 KiB
  }

  async list() {
    return (await uploads.all()).sort((a, b) => a.added_at.localeCompare(b.added_at));
  }

  async kick() {
    if (this.running) { this.again = true; return; } // one added meanwhile: another round
    this.running = true;
    this.again = false;
    clearTimeout(this.timer);
    try {
      for (const item of await this.list()) {
        if (item.state === "done" || item.state === "refused") continue;
        try {
          item.state = "sending";
          this.onChange(await this.list(), item);
          await send(this.token, item, (progress) => this.onChange(null, progress), this.chunkBytes);
          item.state = "done";
          item.error = null;
          this.failures = 0;
        } catch (err) {
          item.state = err instanceof Refused ? "refused" : "waiting";
          item.error = String(err.message || err);
          if (!(err instanceof Refused)) {
            await uploads.put(item);
            this.retryLater();
            return;
          }
        } finally {
          // The blob stays until the server has it all; then only the record is kept.
          if (item.state === "done") item.blob = null;
          await uploads.put(item);
          this.onChange(await this.list(), item);
        }
      }
    } finally {
      this.running = false;
    }
    if (this.again) this.kick();
  }

  retryLater() {
    const pause = RETRY_MS[Math.min(this.failures, RETRY_MS.length - 1)];
    this.failures += 1;
    this.timer = setTimeout(() => this.kick(), pause);
  }
}

/** The camera, opened on demand (only after an alarm is accepted). */
export class Camera {
  constructor(video) {
    this.video = video;
    this.stream = null;
    this.recorder = null;
  }

  async open(withAudio) {
    this.stream = await navigator.mediaDevices.getUserMedia({
      video: {facingMode: "environment"},
      audio: withAudio,
    });
    this.video.srcObject = this.stream;
    await this.video.play();
  }

  close() {
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    this.stream = null;
    this.video.srcObject = null;
  }

  /** One still from the camera, as a JPEG. */
  async photo() {
    const canvas = document.createElement("canvas");
    canvas.width = this.video.videoWidth || 640;
    canvas.height = this.video.videoHeight || 480;
    canvas.getContext("2d").drawImage(this.video, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
  }

  /** Record until `stop()` or CLIP_MAX_S; resolves {blob, duration_s}. */
  record(onTick) {
    const type = MediaRecorder.isTypeSupported("video/webm;codecs=vp8,opus") ? "video/webm;codecs=vp8,opus"
      : MediaRecorder.isTypeSupported("video/mp4") ? "video/mp4" : "video/webm";
    const recorder = new MediaRecorder(this.stream, {mimeType: type});
    this.recorder = recorder;
    const parts = [];
    const started = performance.now();
    const tick = setInterval(() => {
      const seconds = (performance.now() - started) / 1000;
      onTick(seconds);
      if (seconds >= CLIP_MAX_S) this.stop();
    }, 250);
    return new Promise((resolve) => {
      recorder.ondataavailable = (e) => { if (e.data.size) parts.push(e.data); };
      recorder.onstop = () => {
        clearInterval(tick);
        const duration = Math.min((performance.now() - started) / 1000, CLIP_MAX_S);
        resolve({blob: new Blob(parts, {type: type.split(";")[0]}), duration_s: Math.round(duration * 10) / 10});
      };
      recorder.start(1000);
    });
  }

  stop() {
    if (this.recorder && this.recorder.state !== "inactive") this.recorder.stop();
  }
}
