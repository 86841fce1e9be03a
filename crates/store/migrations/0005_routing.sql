-- Routing: the full outcome a decision was made from (rule evidence, classifier scores, signature
-- lines, proposed recipients and anchors), kept on the version that carries the decision.
ALTER TABLE versions ADD COLUMN routing TEXT;

-- Every routing policy that was ever in force, by the sha256 of its text. The newest row is the
-- policy in force: a new file only becomes a row once it has been validated, so an invalid file
-- never replaces a good policy.
CREATE TABLE policies (
    fingerprint  TEXT PRIMARY KEY,
    origin       TEXT NOT NULL,
    text         TEXT NOT NULL,
    installed_at TEXT NOT NULL,
    seq          INTEGER NOT NULL UNIQUE
);
