// The Backend over Tauri IPC: the only module that calls `invoke` or `listen`.
import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type {
  ApiError,
  AppInfo,
  Backend,
  ChangeBatch,
  DocumentRecord,
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
  QueueQuery,
  QueuePage,
  ReviewView,
  ReviewChange,
  ReviewDecision,
  BulkOutcome,
  EnvelopeRecipient,
  Outbox,
  EnvelopeInfo,
  ProviderSettings,
  SyncStatus,
  RelaySettings,
} from "./index";
import { BackendError } from "./index";
import { DOCUMENTS_CHANGED, DOCUMENTS_PROGRESS, SCAN_PROGRESS, SYNC_STATUS } from "./events";

function isApiError(e: unknown): e is ApiError {
  return typeof e === "object" && e !== null && "code" in e && "message" in e;
}

async function call<T>(cmd: string, args?: Record<string, unknown> | Uint8Array, headers?: Record<string, string>): Promise<T> {
  try {
    return await invoke<T>(cmd, args, headers ? { headers } : undefined);
  } catch (e) {
    if (isApiError(e)) throw new BackendError(e);
    throw new BackendError({ code: "internal", message: String(e) });
  }
}

export const tauriBackend: Backend = {
  appInfo: () => call<AppInfo>("app_info"),
  listDocuments: (status?: Status) => call<DocumentRecord[]>("list_documents", { status: status ?? null }),
  showDocument: (documentId: string) => call<DocumentRecord>("show_document", { documentId }),
  async ingestFile(file: File, source: Source = "upload") {
    const bytes = new Uint8Array(await file.arrayBuffer());
    return call<DocumentRecord>("ingest_file", bytes, {
      "x-file-name": encodeURIComponent(file.name),
      "x-source": source,
    });
  },
  listVersions: (documentId: string) => call<VersionSummary[]>("list_versions", { documentId }),
  listPages: (documentId: string, version: number) => call<PageInfo[]>("list_pages", { documentId, version }),
  pageImageUrl(documentId: string, version: number, index: number, thumbnail: boolean) {
    // Custom protocols are `scheme://localhost/…` on Linux and macOS, `http://scheme.localhost/…` on Windows.
    const base = navigator.userAgent.includes("Windows") ? "http://page.localhost" : "page://localhost";
    return `${base}/${documentId}/${version}/${index}${thumbnail ? "/thumb" : ""}`;
  },
  editPages: (documentId: string, edits: PageEdit[]) => call<DocumentRecord>("edit_pages", { documentId, edits }),
  async insertPages(documentId: string, at: number, file: File) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    return call<DocumentRecord>("insert_pages", bytes, {
      "x-document-id": documentId,
      "x-at": String(at),
      "x-file-name": encodeURIComponent(file.name),
    });
  },
  listRejected: () => call<RejectedFile[]>("list_rejected"),
  retryRejected: (rejectedId: string, password: string | null) =>
    call<DocumentRecord>("retry_rejected", { rejectedId, password }),
  listHotFolders: () => call<string[]>("list_hot_folders"),
  addHotFolder: (path: string) => call<string[]>("add_hot_folder", { path }),
  removeHotFolder: (path: string) => call<string[]>("remove_hot_folder", { path }),
  listScanners: () => call<Device[]>("list_scanners"),
  async scanDocument(request: ScanRequest, onProgress: (p: ScanProgress) => void) {
    const unlisten = await listen<ScanProgress>(SCAN_PROGRESS, (e) => onProgress(e.payload));
    try {
      return await call<DocumentRecord>("scan_document", { request });
    } finally {
      unlisten();
    }
  },
  async scanIntoDocument(documentId: string, at: number, request: ScanRequest, onProgress: (p: ScanProgress) => void) {
    const unlisten = await listen<ScanProgress>(SCAN_PROGRESS, (e) => onProgress(e.payload));
    try {
      return await call<DocumentRecord>("scan_into_document", { documentId, at, request });
    } finally {
      unlisten();
    }
  },
  queuePage: (query: QueueQuery) => call<QueuePage>("queue_page", { query }),
  reviewDocument: (documentId: string) => call<ReviewView>("review_document", { documentId }),
  changeDocument: (documentId: string, version: number, change: ReviewChange) =>
    call<DocumentRecord>("change_document", { documentId, version, change }),
  decideDocument: (documentId: string, version: number, decision: ReviewDecision) =>
    call<DocumentRecord>("decide_document", { documentId, version, decision }),
  bulkApprove: (documentIds: string[]) => call<BulkOutcome>("bulk_approve", { documentIds }),
  setRecipients: (documentId: string, version: number, recipients: EnvelopeRecipient[]) =>
    call<DocumentRecord>("set_recipients", { documentId, version, recipients }),
  getReviewerName: () => call<string>("get_reviewer_name"),
  setReviewerName: (name: string) => call<string>("set_reviewer_name", { name }),
  sendDocument: (documentId: string) => call<DocumentRecord>("send_document", { documentId }),
  outboxStatus: () => call<Outbox>("outbox_status"),
  envelopeInfo: (documentId: string) => call<EnvelopeInfo>("envelope_info", { documentId }),
  refreshEnvelope: (documentId: string) => call<DocumentRecord>("refresh_envelope", { documentId }),
  voidEnvelope: (documentId: string, reason: string) => call<DocumentRecord>("void_envelope", { documentId, reason }),
  resendDocument: (documentId: string) => call<DocumentRecord>("resend_document", { documentId }),
  saveEvidence: (documentId: string, kind: "signed_pdf" | "certificate") =>
    call<string>("save_evidence", { documentId, kind }),
  providerSettings: () => call<ProviderSettings>("provider_settings"),
  setProviderToken: (token: string) => call<ProviderSettings>("set_provider_token", { token }),
  forgetProviderToken: () => call<ProviderSettings>("forget_provider_token"),
  syncStatus: () => call<SyncStatus>("sync_status"),
  relaySettings: () => call<RelaySettings>("relay_settings"),
  setRelayToken: (token: string) => call<RelaySettings>("set_relay_token", { token }),
  forgetRelayToken: () => call<RelaySettings>("forget_relay_token"),
  async onSyncStatus(handler: (status: SyncStatus) => void) {
    return listen<SyncStatus>(SYNC_STATUS, (event) => handler(event.payload));
  },
  async onDocumentsChanged(handler: (batch: ChangeBatch) => void) {
    return listen<ChangeBatch>(DOCUMENTS_CHANGED, (event) => handler(event.payload));
  },
  async onProgress(handler: (progress: Progress[]) => void) {
    return listen<Progress[]>(DOCUMENTS_PROGRESS, (event) => handler(event.payload));
  },
};
