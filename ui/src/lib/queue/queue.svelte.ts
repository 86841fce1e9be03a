import type { Backend, ChangeBatch, DocumentRecord, Progress } from "../backend";

/** The document queue: loaded once, then kept current by change events. Newest first. */
export class Queue {
  #byId = $state<Record<string, DocumentRecord>>({});
  loaded = $state(false);
  /** Documents being processed, by id: the stage and how many pages of it are done. */
  progress = $state<Record<string, Progress>>({});

  readonly documents = $derived(
    Object.values(this.#byId).sort((a, b) =>
      a.created_at === b.created_at
        ? b.document_id.localeCompare(a.document_id)
        : b.created_at.localeCompare(a.created_at),
    ),
  );

  /** Subscribes first, then loads, so no change between the two is lost. */
  async start(backend: Backend): Promise<() => void> {
    const unlisten = await backend.onDocumentsChanged((batch: ChangeBatch) => this.merge(batch.records));
    const unlistenProgress = await backend.onProgress((all: Progress[]) => {
      this.progress = Object.fromEntries(all.map((p) => [p.document_id, p]));
    });
    this.merge(await backend.listDocuments());
    this.loaded = true;
    return () => {
      unlisten();
      unlistenProgress();
    };
  }

  /** Takes the newer of what we have and what arrived, per document. */
  merge(records: DocumentRecord[]) {
    for (const r of records) {
      const have = this.#byId[r.document_id];
      if (!have || have.version < r.version || (have.version === r.version && have.updated_at <= r.updated_at)) {
        this.#byId[r.document_id] = r;
      }
    }
  }
}
