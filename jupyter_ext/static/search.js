// ClampSearch view: a query box and the ranked results of a library index. The kernel runs the
// searches (messages {action: "search"|"similar"}); results arrive in the `results` trait.

function resultItem(model, experimental, hit) {
  const more = h("button", { class: "clamp-similar", type: "button", title: "Scores of the library that sound alike" },
    "More like this");
  more.addEventListener("click", () => model.send({ action: "similar", id: hit.id }));
  return h("li", { class: "clamp-result", dataset: { id: hit.id } },
    h("div", { class: "clamp-result-head" },
      h("span", { class: "clamp-rank" }, `${hit.rank}.`),
      titleLine(hit, hit.id),
      h("span", { class: "clamp-score-value", title: "cosine similarity" }, Number(hit.score).toFixed(3))),
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
      list.replaceChildren(...model.get("results").map((hit) => resultItem(model, experimental, hit)));
    };
    const showQuery = () => { if (document.activeElement !== input) input.value = model.get("query"); };
    const unbind = bindStatus(model, status);
    model.on("change:results", showResults);
    model.on("change:heading", showHeading);
    model.on("change:query", showQuery);
    showHeading();
    showResults();
    el.append(h("div", { class: "clamp-searchbar" }, input, go), status, heading, list);
    return () => {
      unbind();
      model.off("change:results", showResults);
      model.off("change:heading", showHeading);
      model.off("change:query", showQuery);
    };
  },
};
