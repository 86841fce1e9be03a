import type { Status } from "../backend";

/** How a status reads on a chip, and which family of colour it takes. */
export type Tone = "working" | "attention" | "danger" | "moving" | "done" | "ended";

const LABELS: Record<Status, [string, Tone]> = {
  received: ["Received", "working"],
  processing: ["Processing", "working"],
  ocr_complete: ["OCR complete", "working"],
  routed: ["Routed", "moving"],
  needs_review: ["Needs review", "attention"],
  quarantined: ["Quarantined", "danger"],
  approved: ["Approved", "moving"],
  rejected: ["Rejected", "ended"],
  queued_for_signature: ["Queued to send", "moving"],
  envelope_created: ["Envelope created", "moving"],
  sent: ["Sent", "moving"],
  delivered: ["Delivered", "moving"],
  completed: ["Completed", "done"],
  declined: ["Declined", "ended"],
  voided: ["Voided", "ended"],
  expired: ["Expired", "ended"],
  archived: ["Archived", "done"],
  failed: ["Failed", "danger"],
};

export function statusLabel(s: Status): string {
  return LABELS[s][0];
}

export function statusTone(s: Status): Tone {
  return LABELS[s][1];
}
