// ClampClassify view: the score, its candidate labels (editable chips) and a bar chart of the
// model's probabilities. Editing sets the `labels` trait; the kernel answers in `probabilities`.

export default {
  render({ model, el, experimental }) {
    el.classList.add("clamp-widget", "clamp-classify");
    const status = h("div", { class: "clamp-status", "aria-live": "polite" });
    const chips = h("div", { class: "clamp-labels" });
    const add = h("input", { class: "clamp-add-label", type: "text", placeholder: "add a label, Enter",
      "aria-label": "new label" });
    const chart = h("div", { class: "clamp-chart" });
    const setLabels = (labels) => { model.set("labels", labels); model.save_changes(); };
    add.addEventListener("keydown", (e) => {
      if (e.key !== "Enter") return;
      const fresh = add.value.split(",").map((s) => s.trim()).filter(Boolean);
      const labels = model.get("labels");
      const next = labels.concat(fresh.filter((x) => !labels.includes(x)));
      add.value = "";
      if (next.length !== labels.length) setLabels(next);
    });
    const showLabels = () => {
      const labels = model.get("labels");
      chips.replaceChildren(...labels.map((label) => h("span", { class: "clamp-chip", dataset: { label } }, label,
        h("button", { class: "clamp-chip-remove", type: "button", title: `remove ${label}`,
          onclick: () => setLabels(model.get("labels").filter((x) => x !== label)) }, "\u00D7"))), add);
    };
    const showChart = () => {
      const rows = model.get("probabilities").map((r) => [r.label, r.probability]);
      chart.replaceChildren(rows.length ? barChart(rows) : h("div", { class: "clamp-muted" }, "no result yet"));
    };
    const unbind = bindStatus(model, status);
    model.on("change:labels", showLabels);
    model.on("change:probabilities", showChart);
    showLabels();
    showChart();
    const notation = model.get("notation");
    el.append(titleLine({ title: model.get("title"), composer: model.get("composer") }, "Score"),
      notation.abc ? scoreCard(experimental, notation) : "", chips, status, chart);
    return () => {
      unbind();
      model.off("change:labels", showLabels);
      model.off("change:probabilities", showChart);
    };
  },
};
