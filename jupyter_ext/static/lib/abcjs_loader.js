// Fragment (see dom.js). abcjs is not part of any widget's state: the first widget on a page asks
// the kernel for it (one anywidget command, the file as one binary buffer), evaluates it as a
// module and keeps the promise on globalThis under its version, so every later widget of the page
// reuses it. ABCJS_VERSION and ABCJS_SHA256 are written above the fragments by assets.py.

function clampRegistry() {
  if (!globalThis.__clampNotation) {
    globalThis.__clampNotation = { abcjs: {}, transfers: 0, playback: null, lastPlayback: null };
  }
  return globalThis.__clampNotation;
}

/** The abcjs module (a promise), fetched at most once per page and version. */
function loadAbcjs(experimental) {
  const registry = clampRegistry();
  let pending = registry.abcjs[ABCJS_VERSION];
  if (!pending) {
    pending = fetchAbcjs(experimental);
    registry.abcjs[ABCJS_VERSION] = pending;
    // A failed fetch (kernel busy or gone) may be retried by the next widget that renders.
    pending.catch(() => {
      if (registry.abcjs[ABCJS_VERSION] === pending) delete registry.abcjs[ABCJS_VERSION];
    });
  }
  return pending;
}

async function fetchAbcjs(experimental) {
  if (!experimental || typeof experimental.invoke !== "function") {
    throw new Error("this front end cannot ask the kernel for abcjs (anywidget >= 0.9.17 needed)");
  }
  // The kernel answers only when idle, so a long cell elsewhere in the notebook must not time us out.
  const [reply, buffers] = await experimental.invoke("_clamp_abcjs", { version: ABCJS_VERSION },
    { signal: AbortSignal.timeout(600000) });
  if (!reply || reply.version !== ABCJS_VERSION || !buffers || !buffers.length) {
    throw new Error(`the kernel sent no abcjs ${ABCJS_VERSION}; restart the kernel and re-run the cell`);
  }
  const bytes = buffers[0] instanceof ArrayBuffer ? new Uint8Array(buffers[0])
    : new Uint8Array(buffers[0].buffer, buffers[0].byteOffset, buffers[0].byteLength);
  if (globalThis.crypto && crypto.subtle) {  // only in secure contexts (localhost, https)
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
    if (hex !== ABCJS_SHA256) throw new Error("abcjs from the kernel does not match its checksum");
  }
  clampRegistry().transfers += 1;
  // abcjs ships as UMD: give it CommonJS names to fill; strict module code sets no global.
  const source = "const module = { exports: {} }; const exports = module.exports;\n"
    + "const define = undefined;\n" + new TextDecoder().decode(bytes)
    + "\nexport default module.exports;\n";
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  try {
    return (await import(/* webpackIgnore: true */ url)).default;
  } finally {
    URL.revokeObjectURL(url);
  }
}
