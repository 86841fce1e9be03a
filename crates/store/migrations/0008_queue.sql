-- The review queue at 100,000 documents: what it filters and sorts on, kept on the document row
-- (one narrow row per document, indexed) instead of joining every current version and reading
-- its fields JSON on each query.
--
-- documents.status and documents.due_date mirror the current version (its status, and its
-- `due_date` field's value or NULL). The triggers below keep them in sync whichever statement
-- changes a version or makes another version current, so the queue's counts stay exact.
-- documents.search_rowid is the rowid of the document's row in `search_index` (written with it by
-- `countersign_store::review::index_document`), so a full-text match is joined to its document by
-- an integer, without reading the document id out of the index's content table.
--
-- Rebuilding the search index below reads and re-indexes every row: about 25 s for 100,000
-- documents with 2–5 KB of text each (docs/benchmarks.md, "Review queue").
ALTER TABLE documents ADD COLUMN status TEXT;
ALTER TABLE documents ADD COLUMN due_date TEXT;
ALTER TABLE documents ADD COLUMN search_rowid INTEGER;

UPDATE documents SET (status, due_date) = (
    SELECT v.status, CASE WHEN json_valid(v.fields) THEN json_extract(v.fields, '$.due_date.value') END
    FROM versions v WHERE v.document_id = documents.document_id AND v.version = documents.current_version
);
-- The newest index row of each document (index_document kept one; any other is dropped below).
UPDATE documents SET search_rowid = m.search_rowid
FROM (SELECT document_id, MAX(rowid) AS search_rowid FROM search_index GROUP BY document_id) AS m
WHERE m.document_id = documents.document_id;

-- The index again, with its rows (same rowids), now also indexing the first 1, 2 and 3
-- characters of every word: the queue searches each word as a prefix, and a short prefix
-- ("in", "con") otherwise merges the lists of thousands of words (0.1–0.5 s at 100,000 documents
-- instead of a few ms). It makes the index about twice as large.
ALTER TABLE search_index RENAME TO search_index_0007;
CREATE VIRTUAL TABLE search_index USING fts5 (
    document_id UNINDEXED,
    file_name,
    body,
    fields,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '1 2 3'
);
INSERT INTO search_index (rowid, document_id, file_name, body, fields)
SELECT rowid, document_id, file_name, body, fields FROM search_index_0007
WHERE rowid IN (SELECT search_rowid FROM documents WHERE search_rowid IS NOT NULL)
ORDER BY rowid;
DROP TABLE search_index_0007;

-- A new version row that is already current (version 1 of a new document).
CREATE TRIGGER documents_queue_on_version_insert AFTER INSERT ON versions
BEGIN
    UPDATE documents
    SET status = NEW.status,
        due_date = CASE WHEN json_valid(NEW.fields) THEN json_extract(NEW.fields, '$.due_date.value') END
    WHERE document_id = NEW.document_id AND current_version = NEW.version;
END;

-- A status change or new field values on the current version.
CREATE TRIGGER documents_queue_on_version_update AFTER UPDATE OF status, fields ON versions
BEGIN
    UPDATE documents
    SET status = NEW.status,
        due_date = CASE WHEN json_valid(NEW.fields) THEN json_extract(NEW.fields, '$.due_date.value') END
    WHERE document_id = NEW.document_id AND current_version = NEW.version;
END;

-- Another version made current (a page edit, a review change).
CREATE TRIGGER documents_queue_on_current_version AFTER UPDATE OF current_version ON documents
BEGIN
    UPDATE documents SET (status, due_date) = (
        SELECT v.status, CASE WHEN json_valid(v.fields) THEN json_extract(v.fields, '$.due_date.value') END
        FROM versions v WHERE v.document_id = NEW.document_id AND v.version = NEW.current_version
    )
    WHERE document_id = NEW.document_id;
END;

-- Counts per status (a scan of this narrow index), and with a search over many matches, the same
-- scan probing the matches.
CREATE INDEX documents_queue_counts ON documents (status, search_rowid);
-- A search with few matches: from each match to its document's status and sort keys.
CREATE INDEX documents_queue_search ON documents (search_rowid, status, due_date, created_at, document_id);
-- One page of a filter, newest first …
CREATE INDEX documents_queue_newest ON documents (status, created_at DESC, document_id DESC, search_rowid);
-- … or by priority: soonest due date first (none last), then oldest.
CREATE INDEX documents_queue_priority
    ON documents (status, due_date IS NULL, due_date, created_at, document_id, search_rowid);
