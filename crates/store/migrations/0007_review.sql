-- Review: every correction a reviewer made (a word, a field value, the document type), on the
-- version it created. The audit log has the same facts; this table is what later versions fold
-- to re-apply a reviewer's values when routing is decided again, and what undo reads.
CREATE TABLE corrections (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id TEXT NOT NULL,
    version     INTEGER NOT NULL,           -- the version this correction created
    kind        TEXT NOT NULL CHECK (kind IN ('word', 'field', 'type')),
    page_index  INTEGER,                    -- kind = word
    word_index  INTEGER,                    -- kind = word: index in the page's words
    field       TEXT,                       -- kind = field
    old_value   TEXT,                       -- NULL: there was none (a field not read)
    new_value   TEXT,                       -- NULL: the reviewer's value was withdrawn (undo)
    reviewer    TEXT NOT NULL,
    at          TEXT NOT NULL,
    undoes      INTEGER REFERENCES corrections (seq),
    FOREIGN KEY (document_id, version) REFERENCES versions (document_id, version)
);
CREATE INDEX corrections_document ON corrections (document_id, seq);

-- Names reviewers confirmed (vendor and party names), per tenant and field: extraction snaps
-- OCR-garbled spellings to them and finds them in documents where no label names them.
CREATE TABLE vocabulary (
    tenant_id TEXT NOT NULL,
    field     TEXT NOT NULL,
    value     TEXT NOT NULL,
    uses      INTEGER NOT NULL DEFAULT 1,
    last_used TEXT NOT NULL,
    PRIMARY KEY (tenant_id, field, value)
);

-- What the queue searches: file name, page text and field values of each document's current
-- version (one row per document, replaced whenever a version is routed or corrected).
CREATE VIRTUAL TABLE search_index USING fts5 (
    document_id UNINDEXED,
    file_name,
    body,
    fields,
    tokenize = 'unicode61 remove_diacritics 2'
);
