// The typed bridge between the UI and the Rust backend. Components receive a `Backend` and never
// call `invoke` themselves, so a test can hand them a fake one. Types come from Rust (generated/).
import type { ApiError } from "../generated/ApiError";
import type { AppInfo } from "../generated/AppInfo";
import type { ChangeBatch } from "../generated/ChangeBatch";
import type { Progress } from "../generated/Progress";
import type { DocumentRecord } from "../generated/DocumentRecord";
import type { ErrorCode } from "../generated/ErrorCode";
import type { Source } from "../generated/Source";
import type { Status } from "../generated/Status";
import type { PageEdit } from "../generated/PageEdit";
import type { PageInfo } from "../generated/PageInfo";
import type { RejectedFile } from "../generated/RejectedFile";
import type { VersionSummary } from "../generated/VersionSummary";
import type { Device } from "../generated/Device";
import type { ScanProgress } from "../generated/ScanProgress";
import type { ScanRequest } from "../generated/ScanRequest";
import type { ReviewView } from "../generated/ReviewView";
import type { ReviewChange } from "../generated/ReviewChange";
import type { ReviewDecision } from "../generated/ReviewDecision";
import type { BulkOutcome } from "../generated/BulkOutcome";
import type { EnvelopeRecipient } from "../generated/EnvelopeRecipient";
import type { QueueQuery } from "../generated/QueueQuery";
import type { QueuePage } from "../generated/QueuePage";
import type { QueueFilter } from "../generated/QueueFilter";
import type { QueueItem } from "../generated/QueueItem";
import type { QueueCounts } from "../generated/QueueCounts";
import type { OcrWord } from "../generated/OcrWord";
import type { OcrPage } from "../generated/OcrPage";
import type { Field } from "../generated/Field";
import type { AnchorPlacement } from "../generated/AnchorPlacement";
import type { TimelineEntry } from "../generated/TimelineEntry";
import type { CorrectionView } from "../generated/CorrectionView";
import type { TypeChoice } from "../generated/TypeChoice";
import type { Outbox } from "../generated/Outbox";
import type { SyncStatus } from "../generated/SyncStatus";
import type { RelaySettings } from "../generated/RelaySettings";
import type { EnvelopeInfo } from "../generated/EnvelopeInfo";
import type { Evidence } from "../generated/Evidence";
import type { SigningLink } from "../generated/SigningLink";
import type { ProviderSettings } from "../generated/ProviderSettings";
import type { SecretSource } from "../generated/SecretSource";

export type {
  EnvelopeInfo,
  Evidence,
  Outbox,
  SyncStatus,
  RelaySettings,
  ProviderSettings,
  SecretSource,
  SigningLink,
  AnchorPlacement,
  BulkOutcome,
  CorrectionView,
  EnvelopeRecipient,
  Field,
  OcrPage,
  OcrWord,
  QueueCounts,
  QueueFilter,
  QueueItem,
  QueuePage,
  QueueQuery,
  ReviewChange,
  ReviewDecision,
  ReviewView,
  TimelineEntry,
  TypeChoice,
  ApiError,
  AppInfo,
  ChangeBatch,
  DocumentRecord,
  ErrorCode,
  PageEdit,
  PageInfo,
  Progress,
  RejectedFile,
  Device,
  ScanProgress,
  ScanRequest,
  Source,
  Status,
  VersionSummary,
};

/** An error from the backend, with its stable code to branch on. */
export class BackendError extends Error {
  readonly code: ErrorCode;
  readonly documentId?: string;
  constructor(err: ApiError) {
    super(err.message);
    this.code = err.code;
    this.documentId = err.document_id;
  }
}

export interface Backend {
  appInfo(): Promise<AppInfo>;
  listDocuments(status?: Status): Promise<DocumentRecord[]>;
  showDocument(documentId: string): Promise<DocumentRecord>;
  /** Imports one file the user picked or dropped. Throws BackendError (e.g. code `duplicate`). */
  ingestFile(file: File, source?: Source): Promise<DocumentRecord>;
  listVersions(documentId: string): Promise<VersionSummary[]>;
  listPages(documentId: string, version: number): Promise<PageInfo[]>;
  /** Where the page image (or its thumbnail) of a version is served from, for an <img>. */
  pageImageUrl(documentId: string, version: number, index: number, thumbnail: boolean): string;
  /** Applies edits to the current version's pages; the result is a new version. */
  editPages(documentId: string, edits: PageEdit[]): Promise<DocumentRecord>;
  /** Inserts every page of `file` before page `at` (0-based); a new version. */
  insertPages(documentId: string, at: number, file: File): Promise<DocumentRecord>;
  /** Files refused at import (kept with their reason). */
  listRejected(): Promise<RejectedFile[]>;
  /** Imports a refused file again, e.g. with the password it needs. */
  retryRejected(rejectedId: string, password: string | null): Promise<DocumentRecord>;
  /** Folders watched for new files (kept in countersign.toml). */
  listHotFolders(): Promise<string[]>;
  addHotFolder(path: string): Promise<string[]>;
  removeHotFolder(path: string): Promise<string[]>;
  listScanners(): Promise<Device[]>;
  /** Scans a batch into one document; `onProgress` hears each page start, advance and finish. */
  scanDocument(request: ScanRequest, onProgress: (p: ScanProgress) => void): Promise<DocumentRecord>;
  /** Scans a batch and inserts its pages before page `at` (0-based) of a document; a new version. */
  scanIntoDocument(documentId: string, at: number, request: ScanRequest, onProgress: (p: ScanProgress) => void): Promise<DocumentRecord>;
  /** One page of the queue: a filter, an optional search, counts of every filter. */
  queuePage(query: QueueQuery): Promise<QueuePage>;
  /** Everything the review screen shows for a document's current version. */
  reviewDocument(documentId: string): Promise<ReviewView>;
  /** A correction (word, field, type) or undo, made on `version`; the result is a new version. Throws `conflict` if the document moved on. */
  changeDocument(documentId: string, version: number, change: ReviewChange): Promise<DocumentRecord>;
  /** Approve, reject or quarantine (the last two with a reason), made on `version`. */
  decideDocument(documentId: string, version: number, decision: ReviewDecision): Promise<DocumentRecord>;
  /** Approves every listed document in needs_review with nothing flagged; says why others were skipped. */
  bulkApprove(documentIds: string[]): Promise<BulkOutcome>;
  /** Changes the envelope's recipients (names, emails, signing order) of an approved document. */
  setRecipients(documentId: string, version: number, recipients: EnvelopeRecipient[]): Promise<DocumentRecord>;
  /** The reviewer name recorded in the audit log (from settings). */
  getReviewerName(): Promise<string>;
  setReviewerName(name: string): Promise<string>;
  /** Puts an approved (or auto-routed) document in the outbox: it is sent for signature. */
  sendDocument(documentId: string): Promise<DocumentRecord>;
  /** How many sends wait in the outbox, and why. */
  outboxStatus(): Promise<Outbox>;
  /** A sent document's envelope: evidence stored so far, sandbox signing links. */
  envelopeInfo(documentId: string): Promise<EnvelopeInfo>;
  /** Asks the provider where the envelope stands now (stores the signed PDF and certificate once completed). */
  refreshEnvelope(documentId: string): Promise<DocumentRecord>;
  voidEnvelope(documentId: string, reason: string): Promise<DocumentRecord>;
  /** A declined, voided or expired document sent again as a new version. */
  resendDocument(documentId: string): Promise<DocumentRecord>;
  /** Saves the signed PDF (`signed_pdf`) or the certificate in the downloads folder; the path. */
  saveEvidence(documentId: string, kind: "signed_pdf" | "certificate"): Promise<string>;
  providerSettings(): Promise<ProviderSettings>;
  /** Stores the provider token in the OS keychain. */
  setProviderToken(token: string): Promise<ProviderSettings>;
  forgetProviderToken(): Promise<ProviderSettings>;
  /** The status loop: online or not, the relay it pulls from, how far behind it is. */
  syncStatus(): Promise<SyncStatus>;
  /** The relay: configured URL (or the app's own) and where its workstation token comes from. */
  relaySettings(): Promise<RelaySettings>;
  /** Stores the relay workstation token in the OS keychain. */
  setRelayToken(token: string): Promise<RelaySettings>;
  forgetRelayToken(): Promise<RelaySettings>;
  /** Calls `handler` whenever the status loop's state changes. */
  onSyncStatus(handler: (status: SyncStatus) => void): Promise<() => void>;
  /** Calls `handler` whenever documents change (here, in the CLI, or in a background job). */
  onDocumentsChanged(handler: (batch: ChangeBatch) => void): Promise<() => void>;
  /** Calls `handler` with every document being processed and its pages done, whenever that changes. */
  onProgress(handler: (progress: Progress[]) => void): Promise<() => void>;
}
