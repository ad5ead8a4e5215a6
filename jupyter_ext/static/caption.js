// ClampCaption view: the caption paragraph, the facts read from the score, what the model states
// and what it is unsure of, the facets it ranks highest (with probabilities), the closest
// description among the training texts, and a warning for a score unlike anything the model was
// trained on.

const FACT_NAMES = [["key", "Key"], ["meter", "Meter"], ["tempo_text", "Tempo"], ["tempo_bpm", "Beats per minute"],
  ["ensemble", "Ensemble"], ["bars", "Bars"], ["duration", "Duration"], ["range", "Range"]];
// The word a caption uses for each facet (clamp_core.caption.FACET_WORDS).
const FACET_WORDS = { genres: "genre", tune_types: "form", ensembles: "ensemble", eras: "era", moods: "character" };

function facetWord(name) {
  return FACET_WORDS[name] || name.replace(/_/g, " ");
}

function factsTable(facts) {
  const rows = FACT_NAMES.filter(([key]) => facts[key] !== null && facts[key] !== undefined && facts[key] !== "")
    .map(([key, name]) => h("tr", { dataset: { fact: key } }, h("th", {}, name), h("td", {}, String(facts[key]))));
  return h("table", { class: "clamp-facts" }, h("tbody", {}, rows));
}

function facetsBlock(cap, calibrated) {
  const stated = cap.stated || {};
  const unsure = cap.unsure || [];
  const tip = calibrated ? "Calibrated probabilities (the model's validation tasks)" : "Probabilities (the model carries no calibration)";
  return h("div", { class: "clamp-facets", title: tip },
    Object.entries(cap.facets || {}).map(([name, ranked]) => {
      const state = name in stated ? "stated" : unsure.includes(name) ? "unsure" : "";
      return h("div", { class: "clamp-facet", dataset: state ? { facet: name, state } : { facet: name } },
        h("div", { class: "clamp-facet-name" }, name.replace(/_/g, " "),
          state ? h("span", { class: `clamp-badge clamp-badge-${state}` }, state) : ""),
        barChart(ranked.map((r) => [r.label, r.probability])));
    }));
}

/** What the model states ({facet: {label, probability}}) and the facets it is unsure of. */
function verdicts(cap) {
  const stated = Object.entries(cap.stated || {});
  const unsure = cap.unsure || [];
  if (!stated.length && !unsure.length) return "";
  return h("div", { class: "clamp-verdicts" },
    stated.length ? h("div", { class: "clamp-stated" }, h("span", { class: "clamp-verdict-head" }, "The model states: "),
      h("ul", {}, stated.map(([facet, v]) => h("li", { dataset: { facet } },
        `${facetWord(facet)}: `, h("strong", {}, v.label), h("span", { class: "clamp-muted" }, ` (${percent(v.probability)})`))))) : "",
    unsure.length ? h("div", { class: "clamp-unsure" }, h("span", { class: "clamp-verdict-head" }, "The model is unsure of: "),
      h("ul", {}, unsure.map((facet) => h("li", { dataset: { facet } }, facetWord(facet))))) : "");
}

export default {
  render({ model, el, experimental }) {
    el.classList.add("clamp-widget", "clamp-caption");
    const status = h("div", { class: "clamp-status", "aria-live": "polite" });
    const note = h("div", { class: "clamp-note" });
    const body = h("div", { class: "clamp-caption-body" });
    const show = () => {
      const cap = model.get("caption");
      if (!cap || !cap.text) { body.replaceChildren(); return; }
      const sentence = cap.sentence;
      body.replaceChildren(
        h("p", { class: "clamp-caption-text" }, cap.text),
        verdicts(cap),
        h("div", { class: "clamp-caption-columns" }, factsTable(cap.facts || {}), facetsBlock(cap, Boolean(model.get("calibrated")))),
        sentence ? h("div", { class: "clamp-sentence", title: "A real description written for another work of the training data, the one nearest this music" },
          "Closest description among the training texts: ", h("q", {}, sentence.text),
          h("span", { class: "clamp-muted" }, ` (cosine ${Number(sentence.cosine).toFixed(3)})`)) : "");
    };
    const unbind = bindStatus(model, status);
    const unbindNovelty = bindNovelty(model, note);
    model.on("change:caption", show);
    model.on("change:calibrated", show);
    show();
    const notation = model.get("notation");
    el.append(titleLine({ title: model.get("title"), composer: model.get("composer") }, "Score"),
      notation.abc ? scoreCard(experimental, notation) : "", status, note, body);
    return () => {
      unbind();
      unbindNovelty();
      model.off("change:caption", show);
      model.off("change:calibrated", show);
    };
  },
};
