// Timings the benchmarks read from the real window (scripts/bench-review.sh): how long switching
// to another document takes until its first page is decoded and painted. Kept on `window` so a
// WebDriver script can read them; costs one timestamp per switch.

type Metrics = { switches: number[] };

declare global {
  interface Window {
    __countersignMetrics?: Metrics;
  }
}

let pending: number | null = null;

function metrics(): Metrics {
  return (window.__countersignMetrics ??= { switches: [] });
}

/** The reviewer asked for another document (next/previous). */
export function switchStarted() {
  pending = performance.now();
}

/** A page image finished loading: if a switch is pending, it is done once the image is painted. */
export function pageShown(img: HTMLImageElement) {
  if (pending === null) return;
  const start = pending;
  pending = null;
  img
    .decode()
    .catch(() => undefined)
    .then(() => requestAnimationFrame(() => metrics().switches.push(performance.now() - start)));
}
