// Fragment of every clamp widget module (jupyter_ext/assets.py joins the fragments and one view
// file into one ES module): plain declarations only, no import or export.

/** Make an element: h("button", {class: "x", onclick: fn}, "text", child, ...). */
function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "style") el.style.cssText = value;
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** A percentage for display: 0.1234 -> "12.3%". */
function percent(p) {
  return `${(100 * (Number(p) || 0)).toFixed(1)}%`;
}

/** One horizontal bar chart row per [label, probability], on a 0-100% scale (a bar's length is
 * its probability, not its share of the largest one). */
function barChart(rows, className = "clamp-bars") {
  const width = (p) => Math.min(100, Math.max(0, 100 * (Number(p) || 0)));
  return h("div", { class: className, role: "list" },
    rows.map(([label, p]) => h("div", { class: "clamp-bar-row", role: "listitem", dataset: { label } },
      h("span", { class: "clamp-bar-label", title: label }, label),
      h("span", { class: "clamp-bar-track", title: "0 to 100%" },
        h("span", { class: "clamp-bar", style: `width: ${width(p).toFixed(1)}%` })),
      h("span", { class: "clamp-bar-value" }, percent(p)))));
}

/** Keep `el` showing the model's error and status traits. */
function bindStatus(model, el) {
  const update = () => {
    const error = model.get("error");
    el.textContent = error || model.get("status") || "";
    el.classList.toggle("clamp-error", Boolean(error));
  };
  update();
  model.on("change:error", update);
  model.on("change:status", update);
  return () => { model.off("change:error", update); model.off("change:status", update); };
}

const OUT_OF_DOMAIN = "This score is unlike anything the model was trained on \u2014 treat these answers with caution";

/** The out-of-domain warning for a `novelty` trait (Novelty.to_dict()); null when familiar. */
function noveltyNote(novelty) {
  if (!novelty || !novelty.out_of_domain) return null;
  const near = Number(novelty.nearest_training_cosine);
  const limit = Number(novelty.threshold);
  return h("div", { class: "clamp-ood", role: "note",
    title: `Nearest training score: cosine ${near.toFixed(3)}; scores below ${limit.toFixed(3)} are flagged` },
  h("strong", { class: "clamp-ood-mark" }, "\u26A0 Out of domain: "), OUT_OF_DOMAIN);
}

/** Keep `el` holding the out-of-domain warning of the model's `novelty` trait. */
function bindNovelty(model, el) {
  const update = () => {
    const note = noveltyNote(model.get("novelty"));
    el.replaceChildren(...(note ? [note] : []));
  };
  update();
  model.on("change:novelty", update);
  return () => model.off("change:novelty", update);
}
