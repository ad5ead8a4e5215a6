// ClampCaption view: the caption paragraph, the facts read from the score, the facets the model
// ranks highest (with probabilities) and the best matching description.

const FACT_NAMES = [["key", "Key"], ["meter", "Meter"], ["tempo_text", "Tempo"], ["tempo_bpm", "Beats per minute"],
  ["ensemble", "Ensemble"], ["bars", "Bars"], ["duration", "Duration"], ["range", "Range"]];

function factsTable(facts) {
  const rows = FACT_NAMES.filter(([key]) => facts[key] !== null && facts[key] !== undefined && facts[key] !== "")
    .map(([key, name]) => h("tr", { dataset: { fact: key } }, h("th", {}, name), h("td", {}, String(facts[key]))));
  return h("table", { class: "clamp-facts" }, h("tbody", {}, rows));
}

function facetsBlock(facets) {
  return h("div", { class: "clamp-facets" }, Object.entries(facets).map(([name, ranked]) =>
    h("div", { class: "clamp-facet", dataset: { facet: name } },
      h("div", { class: "clamp-facet-name" }, name.replace(/_/g, " ")),
      barChart(ranked.map((r) => [r.label, r.probability])))));
}

export default {
  render({ model, el, experimental }) {
    el.classList.add("clamp-widget", "clamp-caption");
    const status = h("div", { class: "clamp-status", "aria-live": "polite" });
    const body = h("div", { class: "clamp-caption-body" });
    const show = () => {
      const cap = model.get("caption");
      if (!cap || !cap.text) { body.replaceChildren(); return; }
      const sentence = cap.sentence;
      body.replaceChildren(
        h("p", { class: "clamp-caption-text" }, cap.text),
        h("div", { class: "clamp-caption-columns" }, factsTable(cap.facts || {}), facetsBlock(cap.facets || {})),
        sentence ? h("div", { class: "clamp-sentence" }, "Best matching description: ",
          h("q", {}, sentence.text), h("span", { class: "clamp-muted" }, ` (cosine ${Number(sentence.cosine).toFixed(3)})`)) : "");
    };
    const unbind = bindStatus(model, status);
    model.on("change:caption", show);
    show();
    const notation = model.get("notation");
    el.append(titleLine({ title: model.get("title"), composer: model.get("composer") }, "Score"),
      notation.abc ? scoreCard(experimental, notation) : "", status, body);
    return () => { unbind(); model.off("change:caption", show); };
  },
};
