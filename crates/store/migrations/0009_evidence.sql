-- The evidence of a signed document, apart from its business status: the provider's combined
-- signed PDF and its certificate of completion, as blobs, with their checksums. Written once per
-- version when the envelope completes; never changed.
CREATE TABLE evidence (
    document_id TEXT NOT NULL,
    version     INTEGER NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('signed_pdf', 'certificate')),
    blob        TEXT NOT NULL,              -- sha256 of the bytes = their blob key
    bytes       INTEGER NOT NULL,
    stored_at   TEXT NOT NULL,
    PRIMARY KEY (document_id, version, kind),
    FOREIGN KEY (document_id, version) REFERENCES versions (document_id, version)
);
