// ClampSearch view: a query box and the ranked results of a library index. The kernel runs the
// searches (messages {action: "search"|"similar"}); results arrive in the `results` trait, each
// with its calibrated relevance ("match") where the model carries one. `no_good_match` says even
// the best result falls below the model's "no good match" level; `novelty` warns when the score
// whose neighbours are shown ("more like this") is unlike anything the model was trained on.

const NO_GOOD_MATCH = "Nothing in the library matches this query well";
const SIMILAR_TIP = "Cosine of the two pieces' music: 1 is the same music, above about 0.8 closely alike";
const COSINE_TIP = "Cosine similarity of the query and the music (this model carries no relevance calibration)";

/** A result's score: its relevance as "NN% match" (the cosine in the tooltip), else the cosine,
 * labelled as such. */
function scoreValue(hit, mode) {
  const cosine = Number(hit.score).toFixed(3);
  if (typeof hit.relevance === "number") {
    return h("span", { class: "clamp-score-value clamp-match", dataset: { relevance: String(hit.relevance) },
      title: `Calibrated chance that this work fits the query; cosine ${cosine}` },
    `${(100 * hit.relevance).toFixed(0)}% match`);
  }
  const tip = mode === "similar" ? SIMILAR_TIP : COSINE_TIP;
  return h("span", { class: "clamp-score-cell", title: tip },
    h("span", { class: "clamp-score-label" }, mode === "similar" ? "similarity " : "relevance "),
    h("span", { class: "clamp-score-value" }, cosine));
}

/** What the numbers of the list are, above it. */
function scoreLegend(results, mode) {
  if (!results.length) return [];
  const matches = results.some((hit) => typeof hit.relevance === "number");
  const text = matches ? "match: the calibrated chance that a work fits the query"
    : mode === "similar" ? "similarity: cosine of the two pieces' music (1 = the same music)"
      : "relevance: cosine similarity of the query and the music (higher is closer; about 0.2\u20130.4 for a good match)";
  return [h("div", { class: "clamp-legend clamp-muted", title: matches ? "" : (mode === "similar" ? SIMILAR_TIP : COSINE_TIP) }, text)];
}

function resultItem(model, experimental, hit, mode) {
  const passage = Array.isArray(hit.passage_bars);
  const more = h("button", { class: "clamp-similar", type: "button",
    title: passage ? "Passages of the library that sound like this one" : "Scores of the library that sound alike" },
  "More like this");
  more.addEventListener("click", () => model.send({ action: "similar", id: hit.id }));
  return h("li", { class: "clamp-result", dataset: { id: hit.id } },
    h("div", { class: "clamp-result-head" },
      h("span", { class: "clamp-rank" }, `${hit.rank}.`),
      titleLine(hit, hit.id),
      scoreValue(hit, mode)),
    h("div", { class: "clamp-where" }, hit.id),
    hit.error ? h("div", { class: "clamp-error" }, hit.error) : scoreCard(experimental, hit, [more]));
}

export default {
  render({ model, el, experimental }) {
    el.classList.add("clamp-widget", "clamp-search");
    const input = h("input", { class: "clamp-query", type: "search", value: model.get("query"),
      placeholder: "Describe the music, e.g. a lively reel for the fiddle", "aria-label": "query" });
    const go = h("button", { class: "clamp-go", type: "button" }, "Search");
    const floor = h("input", { class: "clamp-min-score", type: "number", min: "0", max: "100", step: "5",
      placeholder: "0", "aria-label": "minimum score (percent)",
      title: "Hide results below this score: a match percentage where the model is calibrated, else the cosine \u00D7 100" });
    const back = h("button", { class: "clamp-back", type: "button", title: "Back to the earlier results" }, "\u2190 Back");
    // filters on the library's stored facts, as chips; the kernel checks each one
    const filter = h("input", { class: "clamp-filter", type: "text", "aria-label": "add a filter",
      placeholder: "filter, e.g. composer=Bach",
      title: "Only scores whose facts pass: composer=Bach, metre=6/8, key=minor, ensemble=choir, bars<=32, lyrics=yes \u2026 (Enter adds it)" });
    const chips = h("div", { class: "clamp-chips" });
    const hint = h("div", { class: "clamp-hint", role: "status" });
    const status = h("div", { class: "clamp-status", "aria-live": "polite" });
    const heading = h("div", { class: "clamp-heading" });
    const note = h("div", { class: "clamp-note" });
    const weak = h("div", { class: "clamp-note" });
    const legend = h("div", { class: "clamp-legend-box" });
    const list = h("ol", { class: "clamp-results" });
    const submit = () => {
      const query = input.value.trim();
      if (!query) {
        hint.textContent = "Type a description of the music to search for, e.g. \u201ca slow chorale in a minor key\u201d";
        input.focus();
        return;
      }
      hint.textContent = "";
      model.send({ action: "search", query });
    };
    go.addEventListener("click", submit);
    input.addEventListener("keydown", (e) => { if (e.key === "Enter") submit(); });
    input.addEventListener("input", () => { if (input.value.trim()) hint.textContent = ""; });
    back.addEventListener("click", () => model.send({ action: "back" }));
    const sendFilters = (filters) => model.send({ action: "where", filters });
    filter.addEventListener("keydown", (e) => {
      const text = filter.value.trim();
      if (e.key !== "Enter" || !text) return;
      sendFilters([...(model.get("where") || []), text]);
    });
    const showChips = () => {
      const where = model.get("where") || [];
      filter.value = "";  // the chip is in (a refused filter stays typed, its reason shown)
      chips.replaceChildren(...where.map((f, i) => h("span", { class: "clamp-chip", dataset: { filter: f } }, f,
        h("button", { class: "clamp-chip-x", type: "button", title: `Remove the filter ${f}`, "aria-label": `remove ${f}`,
          onclick: () => sendFilters(where.filter((_, j) => j !== i)) }, "\u00D7"))));
    };
    const setFloor = () => {
      const text = floor.value.trim();
      const value = text === "" ? null : Math.min(100, Math.max(0, Number(text))) / 100;
      if (text !== "" && !Number.isFinite(value)) return;
      model.set("min_score", value);
      model.save_changes();
    };
    floor.addEventListener("change", setFloor);
    const showFloor = () => {
      const value = model.get("min_score");
      if (document.activeElement !== floor) floor.value = value === null || value === undefined ? "" : String(Math.round(100 * value));
    };
    const showBack = () => { back.hidden = !model.get("can_go_back"); };
    const showHeading = () => { heading.textContent = model.get("heading"); };
    const showResults = () => {
      const mode = model.get("mode");  // set with the results (one message): no listener of its own
      const results = model.get("results");
      legend.replaceChildren(...scoreLegend(results, mode));
      list.replaceChildren(...results.map((hit) => resultItem(model, experimental, hit, mode)));
    };
    const showWeak = () => {
      weak.replaceChildren(...(model.get("no_good_match")
        ? [h("div", { class: "clamp-no-match", role: "note",
          title: "Even the best result falls below the model's \u201cno good match\u201d level: these are the nearest scores, not matches" },
        NO_GOOD_MATCH)] : []));
    };
    const showQuery = () => { if (document.activeElement !== input) input.value = model.get("query"); };
    const unbind = bindStatus(model, status);
    const unbindNovelty = bindNovelty(model, note);
    const listeners = [["change:results", showResults], ["change:heading", showHeading],
      ["change:no_good_match", showWeak], ["change:query", showQuery], ["change:min_score", showFloor],
      ["change:can_go_back", showBack], ["change:where", showChips]];
    for (const [event, f] of listeners) model.on(event, f);
    showHeading();
    showWeak();
    showResults();
    showFloor();
    showBack();
    showChips();
    el.append(h("div", { class: "clamp-searchbar" }, back, input, go,
      h("label", { class: "clamp-min-score-label" }, "min score ", floor, " %")),
    h("div", { class: "clamp-filterbar" }, filter, chips),
    hint, status, note, weak, heading, legend, list);
    return () => {
      unbind();
      unbindNovelty();
      for (const [event, f] of listeners) model.off(event, f);
    };
  },
};
