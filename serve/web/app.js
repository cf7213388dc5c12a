// deen's web page: translate as you type (debounced; a newer request
// aborts the older one), count characters against the server's limit, list
// the sentences the model is unsure of, show which German words each
// English word came from (the alignment view, asked for only while it is
// open), copy the translation, translate a file. Only this server is
// contacted.
"use strict";

const $ = (id) => document.getElementById(id);
const source = $("source"), target = $("target"), counter = $("counter"), status = $("status");
let settings = { charLimit: -1, frontendTimeout: 500, apiKeys: false, keyRequired: false };
let timer = null;
let inflight = null; // the AbortController of the request whose answer is awaited

function say(el, text, isError) {
  el.textContent = text;
  el.classList.toggle("error", !!isError);
}

function chars() {
  return [...source.value].length; // code points, as the server counts
}

function overLimit() {
  return settings.charLimit > 0 && chars() > settings.charLimit;
}

function updateCounter() {
  const n = chars();
  counter.textContent = settings.charLimit > 0 ? `${n} / ${settings.charLimit}` : `${n}`;
  counter.classList.toggle("over", overLimit());
}

// lowConfidence is the confidence (the estimated chance that a sentence's
// translation is acceptable) below which the page lists it for checking.
const lowConfidence = 0.5;

function showLowConfidence(sentences) {
  const list = $("lowlist");
  list.replaceChildren();
  for (const s of sentences || []) {
    if (s.passthrough || s.confidence >= lowConfidence) continue;
    const li = document.createElement("li");
    const conf = document.createElement("span");
    conf.className = "conf";
    conf.textContent = `${Math.round(100 * s.confidence)}%`;
    li.append(`${s.source} → ${s.translation} `, conf);
    list.append(li);
  }
  $("lowconf").hidden = list.children.length === 0;
}

// The alignment view: per sentence, the German words and the English words
// as buttons; pointing at, tapping or focusing one highlights the German
// words it was translated from (deen's "alignments" extension).
const alignView = $("alignview"), alignBox = $("alignments");

function showAlignments(alignments) {
  alignBox.replaceChildren();
  say($("alignstatus"), "");
  for (const a of alignments || []) {
    const row = document.createElement("div");
    row.className = "sentpair";
    const de = document.createElement("p"), en = document.createElement("p");
    de.lang = "de";
    a.source.forEach((w, i) => {
      const span = document.createElement("span");
      span.className = "sw";
      span.textContent = w;
      span.dataset.i = i;
      de.append(span, " ");
    });
    a.target.forEach((w, j) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "tw";
      b.textContent = w;
      b.dataset.links = JSON.stringify(a.links[j] || []);
      en.append(b, " ");
    });
    row.append(de, en);
    alignBox.append(row);
  }
}

function highlight(word) {
  for (const el of alignBox.querySelectorAll(".hl, .on")) el.classList.remove("hl", "on");
  if (!word) return;
  word.classList.add("on");
  const row = word.closest(".sentpair");
  const names = [];
  for (const l of JSON.parse(word.dataset.links)) {
    const sw = row.querySelector(`.sw[data-i="${l.word}"]`);
    if (!sw) continue;
    sw.classList.add("hl");
    names.push(`${sw.textContent} (${Math.round(100 * l.weight)}%)`);
  }
  say($("alignstatus"), `${word.textContent} ← ${names.join(", ") || "no German word"}`);
}

for (const ev of ["mouseover", "focusin", "click"]) {
  alignBox.addEventListener(ev, (e) => {
    const w = e.target.closest(".tw");
    if (w) highlight(w);
  });
}

alignView.addEventListener("toggle", () => {
  if (alignView.open) translateNow(); // ask again, with the alignments
  else showAlignments([]);
});

function apiKey() {
  return $("apikey").value.trim();
}

async function translateNow() {
  clearTimeout(timer);
  if (inflight) inflight.abort();
  inflight = null;
  const text = source.value;
  if (text.trim() === "") {
    target.value = "";
    showLowConfidence([]);
    showAlignments([]);
    say(status, "");
    return;
  }
  if (overLimit()) {
    say(status, `Too long: at most ${settings.charLimit} characters.`, true);
    return;
  }
  const ctl = new AbortController();
  inflight = ctl;
  say(status, "Translating…");
  target.setAttribute("aria-busy", "true");
  // sentences: deen's extension, per-sentence translations and confidence.
  const body = { q: text, source: "de", target: "en", format: "text", sentences: true };
  if (alignView.open) body.alignments = true; // deen's extension, only while the view is open
  if (apiKey()) body.api_key = apiKey();
  try {
    const resp = await fetch("/translate", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      signal: ctl.signal,
    });
    const answer = await resp.json();
    if (ctl !== inflight) return; // a newer request is on its way
    if (!resp.ok) {
      say(status, answer.error || `Error ${resp.status}`, true);
      return;
    }
    target.value = answer.translatedText;
    showLowConfidence(answer.sentences);
    showAlignments(answer.alignments);
    say(status, "");
  } catch (err) {
    if (err.name !== "AbortError" && ctl === inflight) say(status, `Network error: ${err.message}`, true);
  } finally {
    if (ctl === inflight) {
      inflight = null;
      target.removeAttribute("aria-busy");
    }
  }
}

source.addEventListener("input", () => {
  updateCounter();
  clearTimeout(timer);
  timer = setTimeout(translateNow, settings.frontendTimeout > 0 ? settings.frontendTimeout : 500);
});

source.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    translateNow();
  }
});

$("clear").addEventListener("click", () => {
  source.value = "";
  updateCounter();
  translateNow();
  source.focus();
});

$("copy").addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText(target.value);
  } catch {
    target.select(); // clipboard API unavailable (http on another host): the old way
    document.execCommand("copy");
  }
  say(status, "Copied.");
});

$("fileform").addEventListener("submit", async (e) => {
  e.preventDefault();
  const file = $("file").files[0];
  const out = $("filestatus");
  if (!file) {
    say(out, "Choose a .txt file first.", true);
    return;
  }
  const form = new FormData();
  form.append("file", file);
  form.append("source", "de");
  form.append("target", "en");
  if (apiKey()) form.append("api_key", apiKey());
  say(out, `Translating ${file.name}…`);
  try {
    const resp = await fetch("/translate_file", { method: "POST", body: form });
    const answer = await resp.json();
    if (!resp.ok) {
      say(out, answer.error || `Error ${resp.status}`, true);
      return;
    }
    out.textContent = "Done: ";
    const a = document.createElement("a");
    a.id = "download";
    a.href = answer.translatedFileUrl;
    a.download = file.name;
    a.textContent = `download ${file.name} in English`;
    out.append(a);
    out.classList.remove("error");
  } catch (err) {
    say(out, `Network error: ${err.message}`, true);
  }
});

(async () => {
  try {
    const resp = await fetch("/frontend/settings");
    if (resp.ok) settings = await resp.json();
  } catch {
    // keep the defaults: the page still works
  }
  $("keyrow").hidden = !settings.apiKeys;
  updateCounter();
  document.body.dataset.ready = "1";
})();
