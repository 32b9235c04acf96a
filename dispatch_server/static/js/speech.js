// Each new alarm spoken once, in the page's language ("三号网格，锦江酒店街区，医疗急救"), by
// the browser's speech synthesis where it has a voice for that language. Where it has none,
// the chime (which rings for every unacknowledged alarm) is what is heard, and the page says
// so on <html data-speech="no-voice">. A switch turns speaking off; it is on by default.
//
// What was asked is mirrored for staff and tests: data-spoken counts the requests, and
// data-last-spoken holds the last text.

const KEY = "dispatch.speech";
const spoken = new Set();
const ZH_NUMBERS = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];

export function enabled() {
  return localStorage.getItem(KEY) !== "off";
}

export function toggle() {
  localStorage.setItem(KEY, enabled() ? "off" : "on");
  if (!enabled()) window.speechSynthesis?.cancel();
}

/** "三号网格，锦江酒店街区，医疗急救" / "Grid 3, Jinjiang Hotel Block, medical". */
export function alarmWords(lang, gridId, gridName, category) {
  const n = Number(String(gridId).replace(/\D/g, ""));
  if (lang === "zh") {
    const number = n >= 1 && n <= 10 ? ZH_NUMBERS[n] : String(n || gridId);
    return `${number}号网格，${gridName}，${category}`;
  }
  return `Grid ${n || gridId}, ${gridName}, ${category}`;
}

function voiceFor(lang) {
  const voices = window.speechSynthesis?.getVoices() ?? [];
  const want = lang === "zh" ? "zh" : "en";
  return voices.find((v) => v.lang.toLowerCase().startsWith(want)) ?? null;
}

/** Speak this incident's alarm once (a reconnect that replays it says nothing again). */
export function announce(incidentId, text, lang) {
  if (!enabled() || spoken.has(incidentId)) return;
  spoken.add(incidentId);
  const html = document.documentElement;
  const voice = voiceFor(lang);
  if (!voice) {
    html.dataset.speech = "no-voice";  // the chime says it
    return;
  }
  const words = new SpeechSynthesisUtterance(text);
  words.voice = voice;
  words.lang = voice.lang;
  words.rate = 0.9;  // a little slower: many duty volunteers are elderly
  window.speechSynthesis.speak(words);
  html.dataset.speech = "spoken";
  html.dataset.spoken = String(Number(html.dataset.spoken || 0) + 1);
  html.dataset.lastSpoken = text;
}
