// The signing lifecycle as the window shows it: which statuses have an envelope (or are about to),
// and what can be done in each.
import type { EnvelopeRecipient, Status } from "../backend";

/** Sent for signature (or waiting in the outbox to be): the review screen shows the envelope panel. */
export const SIGNING_STATUSES: Status[] = [
  "queued_for_signature",
  "envelope_created",
  "sent",
  "delivered",
  "completed",
  "declined",
  "voided",
  "expired",
];

/** An envelope out for signature: it can still be voided. */
export const VOIDABLE: Status[] = ["envelope_created", "sent", "delivered"];

/** Ended without signatures: the document can be sent again (as a new version). */
export const RESENDABLE: Status[] = ["declined", "voided", "expired"];

export function isSigning(s: Status | undefined): boolean {
  return s !== undefined && SIGNING_STATUSES.includes(s);
}

/**
 * What keeps an envelope from going out, as the backend checks it (signers and copies need a
 * name and an email); empty when nothing does.
 */
export function envelopeProblems(signers: EnvelopeRecipient[], copies: EnvelopeRecipient[]): string[] {
  const out: string[] = [];
  if (signers.length === 0) out.push("the route names no signers");
  for (const r of [...signers, ...copies]) {
    const role = r.role.replace(/_/g, " ");
    const noName = !r.name?.trim();
    const noEmail = !r.email?.trim();
    if (noName && noEmail) out.push(`${role} has no name or email`);
    else if (noName) out.push(`${role} has no name`);
    else if (noEmail) out.push(`${role} has no email`);
  }
  return out;
}

/** A byte count as people read it. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
