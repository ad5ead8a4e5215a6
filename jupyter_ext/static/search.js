// ClampSearch view: a query box and the ranked results of a library index. The kernel runs the
// searches (messages {action: "search"|"similar"}); results arrive in the `results` trait, each
// with its calibrated relevance ("match") where the model carries one. `no_good_match` says even
// the best result falls below the model's "no good match" level; `novelty` warns when the score
// whose neighbours are shown ("more like this") is unlike anything the model was trained on.

const NO_GOOD_MATCH = "Nothing in the library matches this query well";
const SIMILAR_TIP = "Cosine of the two pieces' music: 1 is the same music, above about 0.8 closely alike";
const COSINE_TIP = "Cosine similarity of the query and the music (this model carries no relevance calibration)";

/** A result's score: its relevance as "NN% match" (the cosine in the tooltip), else the cosine. */
function scoreValue(hit, mode) {
  const cosine = Number(hit.score).toFixed(3);
  if (typeof hit.relevance === "number") {
    return h("span", { class: "clamp-score-value clamp-match", dataset: { relevance: String(hit.relevance) },
      title: `Calibrated chance that this work fits the query; cosine ${cosine}` },
    `${(100 * hit.relevance).toFixed(0)}% match`);
  }
  return h("span", { class: "clamp-score-value", title: mode === "similar" ? SIMILAR_TIP : COSINE_TIP }, cosine);
}

function resultItem(model, experimental, hit, mode) {
  const more = h("button", { class: "clamp-similar", type: "button", title: "Scores of the library that sound alike" },
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
    const status = h("div", { class: "clamp-status", "aria-live": "polite" });
    const heading = h("div", { class: "clamp-heading" });
    const note = h("div", { class: "clamp-note" });
    const weak = h("div", { class: "clamp-note" });
    const list = h("ol", { class: "clamp-results" });
    const submit = () => {
      const query = input.value.trim();
      if (!query) return;
      model.send({ action: "search", query });
    };
    go.addEventListener("click", submit);
    input.addEventListener("keydown", (e) => { if (e.key === "Enter") submit(); });
    const showHeading = () => { heading.textContent = model.get("heading"); };
    const showResults = () => {
      const mode = model.get("mode");  // set with the results (one message): no listener of its own
      list.replaceChildren(...model.get("results").map((hit) => resultItem(model, experimental, hit, mode)));
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
    model.on("change:results", showResults);
    model.on("change:heading", showHeading);
    model.on("change:no_good_match", showWeak);
    model.on("change:query", showQuery);
    showHeading();
    showWeak();
    showResults();
    el.append(h("div", { class: "clamp-searchbar" }, input, go), status, note, weak, heading, list);
    return () => {
      unbind();
      unbindNovelty();
      model.off("change:results", showResults);
      model.off("change:heading", showHeading);
      model.off("change:no_good_match", showWeak);
      model.off("change:query", showQuery);
    };
  },
};
