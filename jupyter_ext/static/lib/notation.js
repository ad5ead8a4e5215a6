// Fragment (see dom.js). A score card: the first bars drawn by abcjs, a button that draws the
// whole piece, and a play button. `item` carries abc_preview, abc, bars and truncated; a passage
// also `highlight` [from, to): its bars within `abc` (the passage in context), which are marked
// when that is drawn, while the preview and the play button are the passage alone.

// abcjs draws into a box whose height is its width times the drawing's aspect ratio and clips
// what overflows it: the right padding keeps end repeats and a line's last bar inside.
const RENDER_OPTIONS = { responsive: "resize", add_classes: true, paddingleft: 6, paddingright: 28,
  paddingtop: 6, paddingbottom: 8 };

/** Draw `abc` into `target` once abcjs is here; without abcjs, show the ABC text and why. */
async function drawAbc(experimental, target, abc) {
  target.classList.add("clamp-loading");
  try {
    const abcjs = await loadAbcjs(experimental);
    // abcjs restyles the element it draws into (aspect-ratio padding): give it one of its own
    const sheet = h("div", { class: "clamp-sheet" });
    target.replaceChildren(sheet);
    abcjs.renderAbc(sheet, abc, RENDER_OPTIONS);
    return abcjs;
  } catch (err) {
    target.replaceChildren(
      h("div", { class: "clamp-error" }, `Notation unavailable: ${err.message || err}`),
      h("pre", { class: "clamp-abc-text" }, abc));
    return null;
  } finally {
    target.classList.remove("clamp-loading");
  }
}

/** Mark the bars [from, to) of a drawing (abcjs classes each bar's notes abcjs-mm<N>). */
function highlightBars(target, range) {
  const [from, to] = range;
  for (let n = from; n < to; n++) {
    for (const el of target.querySelectorAll(`.abcjs-mm${n}`)) el.classList.add("clamp-hit");
  }
}

/** The card for one score. `extra` holds more buttons (e.g. "more like this"). */
function scoreCard(experimental, item, extra = []) {
  const drawing = h("div", { class: "clamp-notation" });
  let expanded = false;
  const passage = Array.isArray(item.highlight);
  const expand = h("button", { class: "clamp-expand", type: "button" });
  const label = () => {
    if (passage) return expanded ? "Show the passage" : "Show in context";
    if (expanded) return "Show first bars";
    return item.truncated ? `Show ${item.abc_bars || "more"} bars (of ${item.bars})` : `Show all ${item.bars} bars`;
  };
  expand.textContent = label();
  expand.hidden = !(item.bars > 0) || item.abc === item.abc_preview;
  expand.addEventListener("click", async () => {
    expanded = !expanded;
    expand.textContent = label();
    const drawn = await drawAbc(experimental, drawing, expanded ? item.abc : item.abc_preview);
    if (drawn && expanded && passage) highlightBars(drawing, item.highlight);
  });
  const play = h("button", { class: "clamp-play", type: "button", title: "Play (offline synthesis)" }, "\u25B6 Play");
  let handle = null;
  play.addEventListener("click", async () => {
    if (handle) { handle.stop(); return; }
    try {
      const abcjs = await loadAbcjs(experimental);
      const notes = noteEvents(abcjs, passage ? item.abc_preview : item.abc);
      play.dataset.scheduledNotes = String(notes.length);
      handle = playNotes(notes, () => { handle = null; play.textContent = "\u25B6 Play"; play.classList.remove("clamp-playing"); });
      play.textContent = "\u25A0 Stop";
      play.classList.add("clamp-playing");
    } catch (err) {
      play.title = `Cannot play: ${err.message || err}`;
      play.classList.add("clamp-error");
    }
  });
  drawAbc(experimental, drawing, item.abc_preview || item.abc);
  return h("div", { class: "clamp-score" }, drawing,
    h("div", { class: "clamp-score-actions" }, play, expand, extra));
}

/** "Title, bars 9-16 — Composer", leaving out what is missing. */
function titleLine(item, fallback = "Untitled") {
  const bars = item.passage_bars && item.passage_bars.length === 2
    ? (item.passage_bars[0] === item.passage_bars[1] ? `, bar ${item.passage_bars[0]}`
      : `, bars ${item.passage_bars[0]}\u2013${item.passage_bars[1]}`) : "";
  return h("div", { class: "clamp-title" },
    h("strong", {}, (item.title || fallback) + bars),
    item.composer ? h("span", { class: "clamp-composer" }, ` \u2014 ${item.composer}`) : null);
}
