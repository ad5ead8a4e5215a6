// ClampClassify view: the score, its candidate labels (editable chips) and a bar chart of the
// model's probabilities (calibrated when the model carries a calibration). Editing sets the
// `labels` trait; the kernel answers in `probabilities`. A score unlike anything the model was
// trained on (`novelty`) gets a warning above the chart.

const CALIBRATED_TIP = "Calibrated on the model's validation tasks: a stated 70% is right about 70% of the time there";
const RAW_TIP = "Not calibrated: this model carries no calibration (run clamp calibrate); the raw softmax of the model";

function probabilityCaption(calibrated) {
  return h("div", { class: "clamp-prob-caption clamp-muted", title: calibrated ? CALIBRATED_TIP : RAW_TIP,
    dataset: { calibrated: calibrated ? "yes" : "no" } },
  calibrated ? "Calibrated probabilities" : "Probabilities (uncalibrated)");
}

export default {
  render({ model, el, experimental }) {
    el.classList.add("clamp-widget", "clamp-classify");
    const status = h("div", { class: "clamp-status", "aria-live": "polite" });
    const chips = h("div", { class: "clamp-labels" });
    const add = h("input", { class: "clamp-add-label", type: "text", placeholder: "add a label, Enter",
      "aria-label": "new label" });
    const chart = h("div", { class: "clamp-chart" });
    const note = h("div", { class: "clamp-note" });
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
      chart.replaceChildren(...(rows.length ? [probabilityCaption(Boolean(model.get("calibrated"))), barChart(rows)]
        : [h("div", { class: "clamp-muted" }, "no result yet")]));
    };
    const unbind = bindStatus(model, status);
    const unbindNovelty = bindNovelty(model, note);
    model.on("change:labels", showLabels);
    model.on("change:probabilities", showChart);
    model.on("change:calibrated", showChart);
    showLabels();
    showChart();
    const notation = model.get("notation");
    el.append(titleLine({ title: model.get("title"), composer: model.get("composer") }, "Score"),
      notation.abc ? scoreCard(experimental, notation) : "", chips, status, note, chart);
    return () => {
      unbind();
      unbindNovelty();
      model.off("change:labels", showLabels);
      model.off("change:probabilities", showChart);
      model.off("change:calibrated", showChart);
    };
  },
};
