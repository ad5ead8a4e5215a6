// ScoreView (jupyter_ext.show): one score drawn by abcjs, expandable, with a play button.

export default {
  render({ model, el, experimental }) {
    el.classList.add("clamp-widget", "clamp-show");
    const notation = model.get("notation");
    el.append(titleLine({ title: model.get("title"), composer: model.get("composer") }, "Score"),
      scoreCard(experimental, notation));
  },
};
