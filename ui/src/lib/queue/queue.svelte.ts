import type { Backend, ChangeBatch, DocumentRecord, Progress, QueueCounts, QueueFilter, QueueItem } from "../backend";

/** Rows asked for at a time: the window renders only these, however large the store is. */
export const PAGE_SIZE = 200;
/** At most one reload per this many ms while change events stream in. */
const RELOAD_EVERY_MS = 300;
/** Typing pauses this long before a search runs. */
const SEARCH_DEBOUNCE_MS = 150;

/**
 * The queue as the window shows it: one page of one filter (and search), sorted by the backend,
 * with the counts of every filter. Change events update visible rows at once and reload the page
 * (throttled), so order and counts follow the worker, the CLI and other windows.
 */
export class Queue {
  filter = $state<QueueFilter>("all");
  search = $state("");
  /** Index of the first row shown. */
  offset = $state(0);
  items = $state.raw<QueueItem[]>([]);
  counts = $state.raw<QueueCounts | null>(null);
  /** Rows matching the filter and search (all pages). */
  total = $state(0);
  loaded = $state(false);
  error = $state<string | null>(null);
  /** Documents being processed, by id: the stage and how many pages of it are done. */
  progress = $state.raw<Record<string, Progress>>({});

  #backend: Backend | null = null;
  #request = 0;
  #reloadTimer: ReturnType<typeof setTimeout> | undefined;
  #searchTimer: ReturnType<typeof setTimeout> | undefined;
  #lastReload = 0;
  #listeners = new Set<(records: DocumentRecord[]) => void>();

  /** Subscribes first, then loads, so no change between the two is lost. */
  async start(backend: Backend): Promise<() => void> {
    this.#backend = backend;
    const unlisten = await backend.onDocumentsChanged((batch: ChangeBatch) => {
      this.merge(batch.records);
      for (const l of this.#listeners) l(batch.records);
    });
    const unlistenProgress = await backend.onProgress((all: Progress[]) => {
      this.progress = Object.fromEntries(all.map((p) => [p.document_id, p]));
    });
    await this.reload();
    return () => {
      unlisten();
      unlistenProgress();
      clearTimeout(this.#reloadTimer);
      clearTimeout(this.#searchTimer);
    };
  }

  /** Hears every changed record (e.g. the document open on screen). */
  onRecords(listener: (records: DocumentRecord[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Loads the current page now; a response overtaken by a newer request is dropped. */
  async reload(): Promise<void> {
    if (!this.#backend) return;
    clearTimeout(this.#reloadTimer);
    this.#reloadTimer = undefined;
    this.#lastReload = Date.now();
    const request = ++this.#request;
    try {
      const page = await this.#backend.queuePage({
        filter: this.filter,
        search: this.search.trim() || null,
        offset: this.offset,
        limit: PAGE_SIZE,
      });
      if (request !== this.#request) return;
      // Past the end (rows left the filter): show the last page instead.
      if (page.items.length === 0 && this.offset > 0 && page.total > 0) {
        this.offset = Math.floor((page.total - 1) / PAGE_SIZE) * PAGE_SIZE;
        return this.reload();
      }
      this.items = page.items;
      this.counts = page.counts;
      this.total = page.total;
      this.error = null;
    } catch (e) {
      if (request !== this.#request) return;
      this.error = e instanceof Error ? e.message : String(e);
    } finally {
      if (request === this.#request) this.loaded = true;
    }
  }

  /** A reload soon: at most one every RELOAD_EVERY_MS, however many events arrive. */
  scheduleReload() {
    if (this.#reloadTimer !== undefined) return;
    const wait = Math.max(0, RELOAD_EVERY_MS - (Date.now() - this.#lastReload));
    this.#reloadTimer = setTimeout(() => this.reload(), wait);
  }

  setFilter(filter: QueueFilter) {
    this.filter = filter;
    this.offset = 0;
    this.reload();
  }

  setSearch(text: string) {
    this.search = text;
    clearTimeout(this.#searchTimer);
    this.#searchTimer = setTimeout(() => {
      this.offset = 0;
      this.reload();
    }, SEARCH_DEBOUNCE_MS);
  }

  get hasPrevious(): boolean {
    return this.offset > 0;
  }

  get hasNext(): boolean {
    return this.offset + this.items.length < this.total;
  }

  async goTo(offset: number) {
    this.offset = Math.max(0, offset);
    await this.reload();
  }

  /**
   * Newer records replace the visible rows they belong to at once (status, progress); a reload
   * follows for order, membership and counts.
   */
  merge(records: DocumentRecord[]) {
    if (records.length === 0) return;
    const byId = new Map(records.map((r) => [r.document_id, r]));
    let changed = false;
    const items = this.items.map((item) => {
      const r = byId.get(item.record.document_id);
      if (!r || !newer(r, item.record)) return item;
      changed = true;
      return { ...item, record: r };
    });
    if (changed) this.items = items;
    this.scheduleReload();
  }
}

/** Whether `a` is a later state of the same document than `b`. */
export function newer(a: DocumentRecord, b: DocumentRecord): boolean {
  return a.version > b.version || (a.version === b.version && a.updated_at > b.updated_at);
}
