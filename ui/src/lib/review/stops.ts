// What the review screen steps through with Tab: the words and fields read with little confidence.
// Pure functions of a ReviewView, so the order is easy to reason about (and to test).
import type { Field, ReviewView } from "../backend";

export type Bbox = [number, number, number, number];

/** A place Tab stops at: a word (page = index in record.ocr.pages) or a field. */
export type Stop =
  | { kind: "word"; key: string; page: number; word: number }
  | { kind: "field"; key: string; field: string };

/** The word being corrected on the page, where its editor goes. */
export type WordEditor = { word: number; text: string; confidence: number; bbox: Bbox };

/** A field as the panel lists it: extracted, or required by the type but not found. */
export type FieldRow = { name: string; field: Field | null; low: boolean };

export const wordKey = (page: number, word: number) => `${page}:${word}`;

/** A bbox that points nowhere (fields a reviewer typed in have no place on the page). */
export function noBox(b: Bbox | readonly number[]): boolean {
  return b[2] <= b[0] || b[3] <= b[1];
}

/** Required fields of the document's type that were not read (the reviewer can fill them in). */
export function missingFields(view: ReviewView): string[] {
  return view.missing_fields.filter((f) => !(f in view.record.fields));
}

/** The fields panel's rows by name: extracted fields and missing required ones. */
export function fieldRows(view: ReviewView): FieldRow[] {
  const min = view.thresholds.min_field_confidence;
  const rows: FieldRow[] = Object.entries(view.record.fields)
    .filter((e): e is [string, Field] => e[1] !== undefined)
    .map(([name, field]) => ({ name, field, low: field.confidence < min }));
  for (const name of missingFields(view)) rows.push({ name, field: null, low: true });
  return rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Tab order: low-confidence words (page order, then word index), then low-confidence or missing fields by name. */
export function reviewStops(view: ReviewView): Stop[] {
  const stops: Stop[] = [];
  const low = view.thresholds.low_word_confidence;
  (view.record.ocr?.pages ?? []).forEach((p, page) => {
    p.words.forEach((w, word) => {
      if (w.confidence < low) stops.push({ kind: "word", key: `w:${wordKey(page, word)}`, page, word });
    });
  });
  for (const { name: field } of fieldRows(view).filter((r) => r.low)) stops.push({ kind: "field", key: `f:${field}`, field });
  return stops;
}

/** Where a stop sits in the Tab order, comparable across reloads (a corrected word leaves the list). */
function cmp(a: Stop, b: Stop): number {
  if (a.kind === "word" && b.kind === "word") return a.page - b.page || a.word - b.word;
  if (a.kind === "field" && b.kind === "field") return a.field < b.field ? -1 : a.field > b.field ? 1 : 0;
  return a.kind === "word" ? -1 : 1;
}

/**
 * The stop after (dir 1) or before (dir -1) `from`, wrapping around. `from` need not be in
 * `stops` any more (it was just corrected): its place in the order still counts.
 */
export function step(stops: Stop[], from: Stop | null, dir: 1 | -1): Stop | null {
  if (stops.length === 0) return null;
  if (!from) return dir === 1 ? stops[0] : stops[stops.length - 1];
  if (dir === 1) return stops.find((s) => cmp(s, from) > 0) ?? stops[0];
  for (let i = stops.length - 1; i >= 0; i--) if (cmp(stops[i], from) < 0) return stops[i];
  return stops[stops.length - 1];
}

/** Confidence as a whole percentage. */
export function pct(x: number | null | undefined): string {
  return x === null || x === undefined ? "—" : `${Math.round(x * 100)}%`;
}

/** Low / unsure / sure, against a threshold: the colour family of a confidence. */
export function tone(confidence: number, threshold: number): "low" | "unsure" | "ok" {
  if (confidence < threshold * 0.75) return "low";
  if (confidence < threshold) return "unsure";
  return "ok";
}

export function label(s: string | null | undefined): string {
  return (s ?? "").replace(/_/g, " ");
}

/** Zoom factors stay between a quarter and eight times the fitted width. */
export function clampZoom(z: number): number {
  return Math.min(8, Math.max(0.25, Math.round(z * 100) / 100));
}

/** Whether `b` lies wholly on a `width` × `height` page. */
export function onPage(b: Bbox | readonly number[], width: number, height: number): boolean {
  return b[0] >= 0 && b[1] >= 0 && b[2] <= width && b[3] <= height;
}

/** `b` moved (and if need be shrunk) onto a `width` × `height` page, keeping its size where it fits. */
export function ontoPage(b: Bbox | readonly number[], width: number, height: number): Bbox {
  const w = Math.min(b[2] - b[0], width);
  const h = Math.min(b[3] - b[1], height);
  const x0 = Math.min(Math.max(0, b[0]), width - w);
  const y0 = Math.min(Math.max(0, b[1]), height - h);
  return [x0, y0, x0 + w, y0 + h];
}
