//! A small typesetter: positioned text runs and rules (lines) → 300-dpi grey page images, with
//! PDFium's standard fonts (Times, Helvetica, Courier; regular and bold).
//!
//! [`synth`](crate::synth) sets one flowing text per page; documents of other shapes — a
//! letterhead, label/value pairs, tables, two columns, several pages — are built here from
//! [`PageLayout`]s (what goes where, in points from the top-left corner of a US Letter page) and
//! rendered with [`Typesetter::render`]. [`Typesetter::flow`] wraps paragraphs onto as many pages
//! as they need (used to turn word-processor text into what a scanner would see).
//!
//! Text is limited to what the standard fonts' WinAnsi encoding holds: [`Typesetter::printable`]
//! folds typographic quotes and dashes to ASCII and drops the rest.

use crate::synth::{Font, SynthError, DPI};
use image::GrayImage;
use pdfium_render::prelude::*;

/// US Letter, in points.
pub const PAGE_W: f32 = 612.0;
pub const PAGE_H: f32 = 792.0;

/// How a run is set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Style {
    pub font: Font,
    pub bold: bool,
    /// Points.
    pub size: f32,
}

impl Style {
    pub fn new(font: Font, size: f32) -> Style {
        Style {
            font,
            bold: false,
            size,
        }
    }

    pub fn bold(self) -> Style {
        Style { bold: true, ..self }
    }

    pub fn sized(self, size: f32) -> Style {
        Style { size, ..self }
    }
}

/// One piece of text: its left edge and baseline in points from the page's top-left corner.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub x: f32,
    pub baseline: f32,
    pub text: String,
    pub style: Style,
}

/// A straight line (table rules, signature lines), in points from the top-left corner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
    pub width: f32,
}

/// Everything on one page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageLayout {
    pub runs: Vec<Run>,
    pub rules: Vec<Rule>,
}

impl PageLayout {
    /// The page's text in reading order (runs sorted by baseline, then x; runs whose baselines
    /// are within 2 pt share a line), e.g. as ground truth.
    pub fn text(&self) -> String {
        let mut runs: Vec<&Run> = self.runs.iter().collect();
        runs.sort_by(|a, b| a.baseline.total_cmp(&b.baseline));
        let mut lines: Vec<Vec<&Run>> = Vec::new();
        for r in runs {
            match lines.last_mut() {
                Some(line) if (r.baseline - line[0].baseline).abs() <= 2.0 => line.push(r),
                _ => lines.push(vec![r]),
            }
        }
        lines
            .into_iter()
            .map(|mut line| {
                line.sort_by(|a, b| a.x.total_cmp(&b.x));
                line.iter()
                    .map(|r| r.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A paragraph for [`Typesetter::flow`].
#[derive(Debug, Clone, PartialEq)]
pub struct Paragraph {
    pub text: String,
    pub style: Style,
    /// Extra space before, in points.
    pub space_before: f32,
}

/// A PDFium document used to measure and render pages (one page at a time).
pub struct Typesetter {
    doc: PdfDocument<'static>,
    /// [font][bold]
    fonts: [[PdfFontToken; 2]; 3],
}

fn pdfium_err(action: &'static str) -> impl Fn(PdfiumError) -> SynthError {
    move |e| SynthError::Pdfium {
        action,
        message: format!("{e:?}"),
    }
}

fn font_index(font: Font) -> usize {
    match font {
        Font::Times => 0,
        Font::Helvetica => 1,
        Font::Courier => 2,
    }
}

impl Typesetter {
    pub fn new() -> Result<Typesetter, SynthError> {
        let pdfium = countersign_capture::pdfium_lib::pdfium().map_err(SynthError::Unavailable)?;
        let mut doc = pdfium
            .create_new_pdf()
            .map_err(pdfium_err("create a document"))?;
        let f = doc.fonts_mut();
        let fonts = [
            [f.times_roman(), f.times_bold()],
            [f.helvetica(), f.helvetica_bold()],
            [f.courier(), f.courier_bold()],
        ];
        Ok(Typesetter { doc, fonts })
    }

    fn token(&self, style: Style) -> PdfFontToken {
        self.fonts[font_index(style.font)][usize::from(style.bold)]
    }

    /// Text the standard fonts can print: typographic quotes, dashes and spaces folded to
    /// ASCII, other characters outside Latin-1 dropped, control characters removed.
    pub fn printable(text: &str) -> String {
        text.chars()
            .filter_map(|c| match c {
                '\u{2018}' | '\u{2019}' | '\u{201a}' | '\u{2032}' => Some('\''),
                '\u{201c}' | '\u{201d}' | '\u{201e}' | '\u{2033}' => Some('"'),
                '\u{2010}'..='\u{2015}' | '\u{2212}' => Some('-'),
                '\u{00a0}' | '\u{2002}'..='\u{200a}' | '\t' => Some(' '),
                '\u{2022}' | '\u{25cf}' | '\u{25aa}' => Some('-'),
                '\u{2026}' => Some('.'),
                c if c.is_control() => None,
                c if (c as u32) < 0x100 => Some(c),
                _ => None,
            })
            .collect()
    }

    /// The width of `text` set in `style`, in points.
    pub fn width(&self, text: &str, style: Style) -> Result<f32, SynthError> {
        if text.trim().is_empty() {
            return Ok(0.0);
        }
        let object = PdfPageTextObject::new(
            &self.doc,
            text,
            self.token(style),
            PdfPoints::new(style.size),
        )
        .map_err(pdfium_err("measure a line"))?;
        Ok(object.width().map_err(pdfium_err("measure a line"))?.value)
    }

    /// Greedy line breaking of one paragraph to `max_width` points (a word longer than the
    /// width gets a line of its own).
    pub fn wrap(
        &self,
        text: &str,
        style: Style,
        max_width: f32,
    ) -> Result<Vec<String>, SynthError> {
        let mut lines = Vec::new();
        let mut current = String::new();
        for word in text.split_whitespace() {
            let candidate = if current.is_empty() {
                word.to_owned()
            } else {
                format!("{current} {word}")
            };
            if !current.is_empty() && self.width(&candidate, style)? > max_width {
                lines.push(std::mem::replace(&mut current, word.to_owned()));
            } else {
                current = candidate;
            }
        }
        if !current.is_empty() {
            lines.push(current);
        }
        Ok(lines)
    }

    /// Sets paragraphs one after another between `margin`s, wrapping lines and starting new
    /// pages as needed; at most `max_pages` pages (the rest is cut off).
    pub fn flow(
        &self,
        paragraphs: &[Paragraph],
        margin: f32,
        max_pages: usize,
    ) -> Result<Vec<PageLayout>, SynthError> {
        let width = PAGE_W - 2.0 * margin;
        let mut pages = vec![PageLayout::default()];
        let mut y = margin;
        'outer: for p in paragraphs {
            let text = Self::printable(&p.text);
            let leading = p.style.size * 1.3;
            if y > margin {
                y += p.space_before;
            }
            for line in self.wrap(&text, p.style, width)? {
                if y + leading > PAGE_H - margin {
                    if pages.len() >= max_pages {
                        break 'outer;
                    }
                    pages.push(PageLayout::default());
                    y = margin;
                }
                y += leading;
                pages.last_mut().expect("a page").runs.push(Run {
                    x: margin,
                    baseline: y,
                    text: line,
                    style: p.style,
                });
            }
        }
        Ok(pages)
    }

    /// Renders one page at 300 dpi, 8-bit grey.
    pub fn render(&mut self, layout: &PageLayout) -> Result<GrayImage, SynthError> {
        let tokens = self.fonts;
        let mut page = self
            .doc
            .pages_mut()
            .create_page_at_end(PdfPagePaperSize::new_custom(
                PdfPoints::new(PAGE_W),
                PdfPoints::new(PAGE_H),
            ))
            .map_err(pdfium_err("create a page"))?;
        page.set_content_regeneration_strategy(PdfPageContentRegenerationStrategy::Manual);
        for run in &layout.runs {
            let text = Self::printable(&run.text);
            if text.trim().is_empty() {
                continue;
            }
            page.objects_mut()
                .create_text_object(
                    PdfPoints::new(run.x),
                    PdfPoints::new(PAGE_H - run.baseline),
                    &text,
                    tokens[font_index(run.style.font)][usize::from(run.style.bold)],
                    PdfPoints::new(run.style.size),
                )
                .map_err(pdfium_err("write a run"))?;
        }
        for rule in &layout.rules {
            page.objects_mut()
                .create_path_object_line(
                    PdfPoints::new(rule.x0),
                    PdfPoints::new(PAGE_H - rule.y0),
                    PdfPoints::new(rule.x1),
                    PdfPoints::new(PAGE_H - rule.y1),
                    PdfColor::BLACK,
                    PdfPoints::new(rule.width),
                )
                .map_err(pdfium_err("draw a rule"))?;
        }
        page.regenerate_content()
            .map_err(pdfium_err("write the page content"))?;
        let w = (PAGE_W / 72.0 * DPI as f32).round() as i32;
        let h = (PAGE_H / 72.0 * DPI as f32).round() as i32;
        let config = PdfRenderConfig::new()
            .set_target_width(w)
            .set_target_height(h)
            .set_clear_color(PdfColor::WHITE);
        let image = page
            .render_with_config(&config)
            .map_err(pdfium_err("render the page"))?
            .as_image()
            .map_err(pdfium_err("render the page"))?
            .to_luma8();
        page.delete().map_err(pdfium_err("drop a rendered page"))?;
        Ok(image)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_folds_typography() {
        assert_eq!(
            Typesetter::printable("\u{201c}Party\u{201d} \u{2014} it\u{2019}s\u{2026} \u{4e2d}"),
            "\"Party\" - it's. "
        );
    }

    #[test]
    fn layout_text_is_in_reading_order() {
        let s = Style::new(Font::Helvetica, 10.0);
        let run = |x: f32, baseline: f32, text: &str| Run {
            x,
            baseline,
            text: text.into(),
            style: s,
        };
        let page = PageLayout {
            runs: vec![
                run(300.0, 100.0, "INV-7"),
                run(72.0, 120.0, "Total"),
                run(72.0, 100.5, "Invoice No."),
            ],
            rules: vec![],
        };
        assert_eq!(page.text(), "Invoice No. INV-7\nTotal");
    }
}
