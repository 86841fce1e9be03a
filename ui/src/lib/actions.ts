// Svelte actions that size and place elements through the CSSOM: the app's CSP forbids style
// attributes in markup, but not `element.style` set from script.

type Box = readonly [number, number, number, number];

function setBox(node: HTMLElement, b: Box, scale: number, pad: number) {
  node.style.left = `${b[0] * scale - pad}px`;
  node.style.top = `${b[1] * scale - pad}px`;
  node.style.width = `${Math.max(0, b[2] - b[0]) * scale + 2 * pad}px`;
  node.style.height = `${Math.max(0, b[3] - b[1]) * scale + 2 * pad}px`;
}

/** Places an absolutely positioned element on `bbox` (page pixels) times `scale`, grown by `pad` px. */
export function place(node: HTMLElement, p: { bbox: Box; scale?: number; pad?: number }) {
  setBox(node, p.bbox, p.scale ?? 1, p.pad ?? 0);
  return { update: (q: typeof p) => setBox(node, q.bbox, q.scale ?? 1, q.pad ?? 0) };
}

/**
 * Places an absolutely positioned element on `bbox` as percentages of a `width` × `height`
 * parent: it then follows the parent's size with no script (zooming resizes one element).
 */
export function placePct(node: HTMLElement, p: { bbox: Box; width: number; height: number }) {
  const apply = (q: typeof p) => {
    const [x0, y0, x1, y1] = q.bbox;
    node.style.left = `${(x0 / q.width) * 100}%`;
    node.style.top = `${(y0 / q.height) * 100}%`;
    node.style.width = `${(Math.max(0, x1 - x0) / q.width) * 100}%`;
    node.style.height = `${(Math.max(0, y1 - y0) / q.height) * 100}%`;
  };
  apply(p);
  return { update: apply };
}

/** Sets an element's width and height in px. */
export function size(node: HTMLElement, s: { width: number; height: number }) {
  const apply = (t: typeof s) => {
    node.style.width = `${t.width}px`;
    node.style.height = `${t.height}px`;
  };
  apply(s);
  return { update: apply };
}

/** Focuses an input when it appears, its text selected, so typing replaces it. */
export function focusSelect(node: HTMLElement) {
  node.focus({ preventScroll: true });
  if (node instanceof HTMLInputElement) node.select();
}

/** Sets an element's width as a percentage (bars). */
export function widthPercent(node: HTMLElement, percent: number) {
  node.style.width = `${percent}%`;
  return { update: (p: number) => (node.style.width = `${p}%`) };
}
