-- The statistical document classifier (naive Bayes over word n-grams, JSON), retrained from the
-- documents whose type a person confirmed. The newest row is the model in use.
CREATE TABLE classifier_models (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    trained_at TEXT NOT NULL,
    examples   INTEGER NOT NULL,
    per_type   TEXT NOT NULL,   -- JSON {type: examples}
    model      TEXT NOT NULL
);
