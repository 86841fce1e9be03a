// The review screen's keyboard map: one list, shown by the `?` overlay and used for tooltips.

export type Shortcut = { keys: string[]; what: string; group: "Correct" | "Decide" | "Move" | "View" };

export const SHORTCUTS: Shortcut[] = [
  { keys: ["Tab"], what: "Next word or field to check (opens its editor)", group: "Correct" },
  { keys: ["Shift+Tab"], what: "Previous word or field to check", group: "Correct" },
  { keys: ["Enter"], what: "In an editor: accept — saves a change, or confirms an unchanged word as read — and go to the next; otherwise edit the current stop", group: "Correct" },
  { keys: ["Esc"], what: "Cancel the edit; again: back to the queue", group: "Correct" },
  { keys: ["u", "Ctrl+Z"], what: "Undo the last correction", group: "Correct" },
  { keys: ["click"], what: "Click any word on the page to correct it", group: "Correct" },
  { keys: ["a"], what: "Approve (then check the envelope)", group: "Decide" },
  { keys: ["x"], what: "Reject… (asks for a reason)", group: "Decide" },
  { keys: ["q"], what: "Quarantine… (asks for a reason)", group: "Decide" },
  { keys: ["t"], what: "Reroute: set the document type…", group: "Decide" },
  { keys: ["j", "]"], what: "Next document in the queue", group: "Move" },
  { keys: ["k", "["], what: "Previous document in the queue", group: "Move" },
  { keys: ["PageDown", "."], what: "Next page", group: "Move" },
  { keys: ["PageUp", ","], what: "Previous page", group: "Move" },
  { keys: ["e"], what: "Pages… (rotate, reorder, delete, insert)", group: "Move" },
  { keys: ["b"], what: "Show or hide the word boxes", group: "View" },
  { keys: ["+", "="], what: "Zoom in", group: "View" },
  { keys: ["-"], what: "Zoom out", group: "View" },
  { keys: ["0"], what: "Fit the page width", group: "View" },
  { keys: ["Ctrl+wheel"], what: "Zoom at the pointer; drag or scroll to pan", group: "View" },
  { keys: ["?"], what: "This list of shortcuts", group: "View" },
];

/**
 * Tab, also as WebKitGTK reports Shift+Tab (key "Unidentified", code "Tab": GTK's ISO_Left_Tab).
 */
export function isTab(e: KeyboardEvent): boolean {
  return e.key === "Tab" || e.code === "Tab";
}

const TEXT_INPUTS = new Set(["text", "search", "email", "number", "password", "tel", "url", "date", ""]);

/** Whether keys typed now go into a box (so they are not shortcuts). A checkbox is not a box. */
export function isTyping(t: EventTarget | null): boolean {
  if (t instanceof HTMLInputElement) return TEXT_INPUTS.has(t.type);
  return t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement || (t instanceof HTMLElement && t.isContentEditable);
}
