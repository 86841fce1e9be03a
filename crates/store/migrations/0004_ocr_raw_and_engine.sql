-- OCR keeps the engine's raw output beside the normalised page (raw_blob: Tesseract's TSV as it
-- came out), and names the pipeline that produced it, so a reprocess with newer settings is visible.
ALTER TABLE ocr_pages ADD COLUMN raw_blob TEXT;
ALTER TABLE ocr_pages ADD COLUMN engine TEXT;
