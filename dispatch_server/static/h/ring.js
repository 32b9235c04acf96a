// An assignment must not be missed: a loud repeating tone and vibration until the member
// answers. Browsers play sound only after a touch on the page; "start patrol" (or any tap)
// unlocks it. The state shows on <html data-ring="..."> and the counts on data-rings /
// data-vibrations, for the duty volunteer's eyes in a demo and for the tests.

const EVERY_MS = 2500;
const PATTERN = [600, 200, 600, 200, 600];

let audio = null;
let timer = null;

export function unlock() {
  if (!audio && typeof AudioContext !== "undefined") audio = new AudioContext();
  if (audio && audio.state === "suspended") audio.resume();
}

function bump(name) {
  const html = document.documentElement;
  html.dataset[name] = String(Number(html.dataset[name] || 0) + 1);
}

function tone(freq, start, length) {
  const osc = audio.createOscillator();
  const gain = audio.createGain();
  osc.type = "square";
  osc.frequency.value = freq;
  gain.gain.setValueAtTime(0.0001, start);
  gain.gain.exponentialRampToValueAtTime(0.5, start + 0.02);
  gain.gain.exponentialRampToValueAtTime(0.0001, start + length);
  osc.connect(gain).connect(audio.destination);
  osc.start(start);
  osc.stop(start + length + 0.02);
}

function once() {
  if (navigator.vibrate && navigator.vibrate(PATTERN)) bump("vibrations");
  if (audio && audio.state === "running") {
    const now = audio.currentTime;
    for (let i = 0; i < 3; i += 1) {
      tone(1175, now + i * 0.5, 0.2);
      tone(880, now + i * 0.5 + 0.22, 0.2);
    }
    bump("rings");
  }
}

/** Ring while `on`; safe to call on every render. */
export function ring(on) {
  const html = document.documentElement;
  if (on && !timer) {
    unlock();
    once();
    timer = setInterval(once, EVERY_MS);
  } else if (!on && timer) {
    clearInterval(timer);
    timer = null;
    if (navigator.vibrate) navigator.vibrate(0);
  }
  html.dataset.ring = on ? "ringing" : "quiet";
}

/** One short buzz: the key took the press. */
export function buzz() {
  if (navigator.vibrate) navigator.vibrate(250);
}
