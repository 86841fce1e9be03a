-- Capture: page images and thumbnails as blobs, the DPI they were made at, text-layer PDFs,
-- and the unencrypted working copy of a password-protected original.
ALTER TABLE pages ADD COLUMN thumb_blob TEXT;
ALTER TABLE pages ADD COLUMN dpi INTEGER;
ALTER TABLE pages ADD COLUMN rotation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE versions ADD COLUMN working_blob TEXT;
ALTER TABLE versions ADD COLUMN has_text_layer INTEGER NOT NULL DEFAULT 0;
