// Fragment (see dom.js). Playback without sound fonts (abcjs's own synth downloads them): abcjs
// turns the tune into timed notes (setUpAudio) and each note becomes a Web Audio oscillator.

/** The page's one AudioContext. */
function audioContext() {
  const registry = clampRegistry();
  if (!registry.audio) {
    const Context = globalThis.AudioContext || globalThis.webkitAudioContext;
    if (!Context) throw new Error("this browser has no Web Audio");
    registry.audio = new Context();
  }
  return registry.audio;
}

/** Timed notes of an ABC tune: [{start, duration (seconds), pitch (MIDI), volume (0..1)}]. */
function noteEvents(abcjs, abc) {
  const tune = abcjs.parseOnly(abc)[0];
  if (!tune) return [];
  const audio = tune.setUpAudio();
  const wholeNote = 240 / (audio.tempo || 120);  // abcjs times notes in whole notes
  const notes = [];
  for (const track of audio.tracks || []) {
    for (const ev of track) {
      if (ev.cmd !== "note" || typeof ev.pitch !== "number" || !(ev.duration > 0)) continue;
      notes.push({ start: ev.start * wholeNote, duration: ev.duration * wholeNote,
        pitch: ev.pitch, volume: Math.min(1, (ev.volume ?? 80) / 127) });
    }
  }
  return notes;
}

function stopPlayback() {
  const registry = clampRegistry();
  if (registry.playback) registry.playback.stop();
}

/** Schedule every note now; one tune plays at a time on a page. Returns {notes, seconds, stop}. */
function playNotes(notes, onEnd) {
  stopPlayback();
  const ctx = audioContext();
  if (ctx.state === "suspended") ctx.resume();
  const master = ctx.createGain();
  const voices = maxPolyphony(notes);
  master.gain.value = 0.3 / Math.sqrt(voices);
  master.connect(ctx.destination);
  const t0 = ctx.currentTime + 0.08;
  let end = t0;
  for (const n of notes) {
    const osc = ctx.createOscillator();
    osc.type = "triangle";
    osc.frequency.value = 440 * 2 ** ((n.pitch - 69) / 12);
    const gain = ctx.createGain();
    const on = t0 + n.start;
    const off = on + Math.max(0.04, n.duration * 0.92);
    gain.gain.setValueAtTime(0, on);
    gain.gain.linearRampToValueAtTime(n.volume, on + 0.012);
    gain.gain.setTargetAtTime(0, off, 0.02);
    osc.connect(gain).connect(master);
    osc.start(on);
    osc.stop(off + 0.15);
    end = Math.max(end, off + 0.15);
  }
  const registry = clampRegistry();
  let timer = null;
  const handle = {
    notes: notes.length,
    seconds: end - t0,
    stop() {
      clearTimeout(timer);
      master.disconnect();
      if (registry.playback === handle) registry.playback = null;
      if (onEnd) onEnd();
    },
  };
  timer = setTimeout(() => handle.stop(), (end - ctx.currentTime) * 1000 + 50);
  registry.playback = handle;
  registry.lastPlayback = { notes: notes.length, seconds: handle.seconds, state: ctx.state };
  return handle;
}

/** The most notes sounding at once (sets the master volume so chords do not clip). */
function maxPolyphony(notes) {
  const edges = [];
  for (const n of notes) edges.push([n.start, 1], [n.start + n.duration, -1]);
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 1;
  for (const [, step] of edges) most = Math.max(most, (now += step));
  return most;
}
