import type { QueueCounts, QueueFilter } from "../backend";

/** The queue's filter chips, in the order they are shown (each is a set of statuses, see workflow::queue). */
export const FILTERS: readonly { key: QueueFilter; label: string; hint: string }[] = [
  { key: "all", label: "All", hint: "Every document" },
  { key: "in_progress", label: "In progress", hint: "Being read and routed" },
  { key: "needs_review", label: "Needs review", hint: "Waiting for a reviewer" },
  { key: "quarantined", label: "Quarantined", hint: "Held back: give them a type to release them" },
  { key: "failed", label: "Failed", hint: "Processing stopped; retryable" },
  { key: "ready_to_send", label: "Ready to send", hint: "Routed or approved" },
  { key: "in_signature", label: "In signature", hint: "With the signature provider" },
  { key: "completed", label: "Completed", hint: "Signed (and archived)" },
  { key: "closed", label: "Closed", hint: "Rejected, declined, voided or expired" },
];

export function filterLabel(f: QueueFilter): string {
  return FILTERS.find((x) => x.key === f)?.label ?? f;
}

export function countOf(counts: QueueCounts | null, f: QueueFilter): number {
  return counts ? counts[f] : 0;
}
