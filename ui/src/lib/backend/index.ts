// The typed bridge between the UI and the Rust backend. Components receive a `Backend` and never
// call `invoke` themselves, so a test can hand them a fake one. Types come from Rust (generated/).
import type { ApiError } from "../generated/ApiError";
import type { AppInfo } from "../generated/AppInfo";
import type { ChangeBatch } from "../generated/ChangeBatch";
import type { DocumentRecord } from "../generated/DocumentRecord";
import type { ErrorCode } from "../generated/ErrorCode";
import type { Source } from "../generated/Source";
import type { Status } from "../generated/Status";

export type { ApiError, AppInfo, ChangeBatch, DocumentRecord, ErrorCode, Source, Status };

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
  /** Calls `handler` whenever documents change (here, in the CLI, or in a background job). */
  onDocumentsChanged(handler: (batch: ChangeBatch) => void): Promise<() => void>;
}
