-- OCR results, one row per recognised page of a version (written as each page finishes, so a
-- resumed job recognises only the pages not done yet). The words live in a JSON blob.
CREATE TABLE ocr_pages (
    document_id     TEXT NOT NULL,
    version         INTEGER NOT NULL,
    page_index      INTEGER NOT NULL,
    result_blob     TEXT NOT NULL,          -- sha256 of the page's OCR JSON (countersign_core::OcrPage)
    mean_confidence REAL NOT NULL,
    word_count      INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (document_id, version, page_index),
    FOREIGN KEY (document_id, version) REFERENCES versions (document_id, version)
);
