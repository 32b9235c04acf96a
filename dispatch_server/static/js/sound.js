// The alarm sound: a two-tone chime that repeats while any alarm is unacknowledged, and a
// flashing page title so an alarm shows even in a background tab.
//
// Browsers play sound only after a click on the page; the sign-in (or "start duty") button is
// that click. The state is mirrored on <html data-sound="..."> so staff (and tests) can see it.

let audio = null;
let ringing = false;
let chimeTimer = null;
let titleTimer = null;
let baseTitle = document.title;
let alarmTitle = "";

export function unlock() {
  if (!audio) audio = new AudioContext();
  if (audio.state === "suspended") audio.resume();
  show();
}

function tone(freq, start, length) {
  const osc = audio.createOscillator();
  const gain = audio.createGain();
  osc.type = "square";
  osc.frequency.value = freq;
  gain.gain.setValueAtTime(0.0001, start);
  gain.gain.exponentialRampToValueAtTime(0.25, start + 0.02);
  gain.gain.exponentialRampToValueAtTime(0.0001, start + length);
  osc.connect(gain).connect(audio.destination);
  osc.start(start);
  osc.stop(start + length + 0.02);
}

function chime() {
  if (!audio || audio.state !== "running") { show(); return; }
  const now = audio.currentTime;
  const html = document.documentElement;
  html.dataset.chimes = String(Number(html.dataset.chimes || 0) + 1);
  tone(988, now, 0.3);
  tone(740, now + 0.35, 0.3);
  tone(988, now + 0.7, 0.3);
}

function show() {
  let state = "off";
  if (audio) state = audio.state === "running" ? (ringing ? "playing" : "on") : "blocked";
  document.documentElement.dataset.sound = state;
}

export function setTitles(normal, alarm) {
  baseTitle = normal;
  alarmTitle = alarm;
  if (!ringing) document.title = baseTitle;
}

/** Ring while `on` is true; safe to call on every render. */
export function ring(on) {
  if (on === ringing) { show(); return; }
  ringing = on;
  clearInterval(chimeTimer);
  clearInterval(titleTimer);
  if (on) {
    chime();
    chimeTimer = setInterval(chime, 2000);
    let flip = false;
    titleTimer = setInterval(() => {
      flip = !flip;
      document.title = flip ? alarmTitle + baseTitle : "●●● " + baseTitle;
    }, 700);
  } else {
    document.title = baseTitle;
  }
  show();
}

export function state() { return document.documentElement.dataset.sound || "off"; }
