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

/** One horizontal bar chart row per [label, probability]; the widest bar is the largest value. */
function barChart(rows, className = "clamp-bars") {
  const top = Math.max(1e-9, ...rows.map(([, p]) => Number(p) || 0));
  return h("div", { class: className, role: "list" },
    rows.map(([label, p]) => h("div", { class: "clamp-bar-row", role: "listitem", dataset: { label } },
      h("span", { class: "clamp-bar-label", title: label }, label),
      h("span", { class: "clamp-bar-track" },
        h("span", { class: "clamp-bar", style: `width: ${(100 * (Number(p) || 0) / top).toFixed(1)}%` })),
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
