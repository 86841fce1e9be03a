//! `countersign eval generate-docs`: a labelled set of synthetic business documents for routing
//! evaluation — the five default types (`nda`, `invoice`, `purchase_order`, `hr_form`,
//! `vendor_agreement`) and documents that are none of them (`unclassified`: recipes, meeting
//! memos, news articles, utility bills, restaurant receipts).
//!
//! Variety, all deterministic from a seed: several templates per type with different wording and
//! label variants ("Invoice No.", "Invoice #", "Invoice Number"), random names, companies, dates
//! in several formats and amounts; three fonts; layouts (label: value on one line, value below
//! its label, tables, two columns, letterheads); degradations of `countersign_ocr::synth`
//! (clean, mild skew, noise, low contrast, blur, one page upside down). The templates are written
//! as such documents are, not from the routing policy's phrase lists.
//!
//! Each document is `<name>.png` (or `<name>.pdf` when it has several pages) and
//! `<name>.label.json`: `{"document_type", "fields": {name: value}, "template", "font",
//! "degradation", "pages"}` with values normalised as the route crate normalises them (ISO dates,
//! decimal amounts with two decimals).

use countersign_ocr::synth::{encode_png, Degradation, Font, SynthError, DPI};
use countersign_ocr::typeset::{PageLayout, Rule, Run, Style, Typesetter, PAGE_H, PAGE_W};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The classes generated, in order.
pub const CLASSES: [&str; 6] = [
    "invoice",
    "purchase_order",
    "nda",
    "vendor_agreement",
    "hr_form",
    "unclassified",
];

/// What `<name>.label.json` holds.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Label {
    pub document_type: String,
    pub fields: BTreeMap<String, String>,
    #[serde(default)]
    pub template: Option<String>,
    #[serde(default)]
    pub font: Option<String>,
    #[serde(default)]
    pub degradation: Option<String>,
    #[serde(default)]
    pub pages: Option<usize>,
}

/// One written document.
#[derive(Debug, Clone)]
pub struct Generated {
    pub name: String,
    pub file: PathBuf,
    pub label: Label,
}

/// SplitMix64: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn between(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.below((hi - lo + 1) as usize) as u32
    }
    fn pick<'a, T: ?Sized>(&mut self, items: &'a [&'a T]) -> &'a T {
        items[self.below(items.len())]
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() % 10_000) as f64 / 10_000.0 < p
    }
}

// --- Values ------------------------------------------------------------------------------------

const FIRST: [&str; 32] = [
    "Olivia", "Marcus", "Priya", "Daniel", "Sofia", "Kenji", "Amara", "Lucas", "Hannah", "Mateo",
    "Grace", "Tobias", "Leila", "Owen", "Ines", "Rafael", "Chloe", "Samuel", "Nadia", "Victor",
    "Elena", "Jonah", "Maya", "Felix", "Aisha", "Connor", "Lena", "Hugo", "Zara", "Patrick",
    "Yuki", "Brandon",
];
const LAST: [&str; 32] = [
    "Whitfield",
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Castillo",
    "Nakamura",
    "Brennan",
    "Haddad",
    "Fischer",
    "Delgado",
    "Ashworth",
    "Kowalski",
    "Mensah",
    "Rossi",
    "Thornton",
    "Varga",
    "Holloway",
    "Petrov",
    "Sandoval",
    "Ellison",
    "Gallagher",
    "Iyer",
    "Baptiste",
    "Novak",
    "Carrington",
    "Dubois",
    "Fairbanks",
    "Quintero",
    "Sorensen",
    "Yamada",
    "Abernathy",
    "Lowell",
];
const STEMS: [&str; 36] = [
    "Harborview",
    "Cobalt Ridge",
    "Northwind",
    "Silverline",
    "Redwood",
    "Bluestone",
    "Maple Creek",
    "Ironbridge",
    "Clearwater",
    "Summit Peak",
    "Lakeshore",
    "Granite Bay",
    "Westfield",
    "Brightwell",
    "Oakmont",
    "Falcon Crest",
    "Pinecrest",
    "Stonegate",
    "Riverton",
    "Copperfield",
    "Evergreen",
    "Highland",
    "Sterling",
    "Crescent",
    "Meridian",
    "Larkspur",
    "Vantage",
    "Keystone",
    "Horizon",
    "Juniper",
    "Atlas",
    "Beacon",
    "Orchard Lane",
    "Quarry Hill",
    "Tidewater",
    "Windmere",
];
const TRADES: [&str; 18] = [
    "Analytics",
    "Logistics",
    "Software",
    "Medical",
    "Supply",
    "Engineering",
    "Consulting",
    "Foods",
    "Robotics",
    "Media",
    "Labs",
    "Systems",
    "Packaging",
    "Energy",
    "Design",
    "Capital",
    "Facilities",
    "Networks",
];
const SUFFIXES: [&str; 8] = [
    "Inc.",
    "LLC",
    "Ltd.",
    "Corporation",
    "GmbH",
    "Co.",
    "Group LLC",
    "Holdings Inc.",
];
const STREETS: [&str; 12] = [
    "Market Street",
    "Harbor Way",
    "Elm Avenue",
    "Industrial Park Road",
    "King Street",
    "Commerce Drive",
    "Mill Road",
    "Park Avenue",
    "Station Road",
    "Riverside Drive",
    "Oak Lane",
    "Lakeview Boulevard",
];
const CITIES: [&str; 12] = [
    "Denver, CO 80202",
    "Austin, TX 78701",
    "Portland, OR 97204",
    "Columbus, OH 43215",
    "Raleigh, NC 27601",
    "Madison, WI 53703",
    "Boston, MA 02110",
    "Phoenix, AZ 85004",
    "Albany, NY 12207",
    "Tampa, FL 33602",
    "Boise, ID 83702",
    "Omaha, NE 68102",
];
const STATES: [&str; 6] = [
    "Delaware",
    "California",
    "New York",
    "Texas",
    "Colorado",
    "Washington",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn person(rng: &mut Rng) -> String {
    format!("{} {}", rng.pick(&FIRST), rng.pick(&LAST))
}

fn company(rng: &mut Rng) -> String {
    format!(
        "{} {} {}",
        rng.pick(&STEMS),
        rng.pick(&TRADES),
        rng.pick(&SUFFIXES)
    )
}

fn address(rng: &mut Rng) -> (String, String) {
    (
        format!("{} {}", rng.between(10, 9800), rng.pick(&STREETS)),
        rng.pick(&CITIES).to_string(),
    )
}

#[derive(Clone, Copy)]
struct Date {
    y: i32,
    m: u32,
    d: u32,
}

impl Date {
    fn random(rng: &mut Rng) -> Date {
        Date {
            y: 2023 + rng.below(4) as i32,
            m: rng.between(1, 12),
            d: rng.between(1, 28),
        }
    }
    fn plus_days(self, days: u32) -> Date {
        let mut d = self;
        for _ in 0..days {
            d.d += 1;
            if d.d > 28 {
                d.d = 1;
                d.m += 1;
                if d.m > 12 {
                    d.m = 1;
                    d.y += 1;
                }
            }
        }
        d
    }
    fn iso(self) -> String {
        format!("{:04}-{:02}-{:02}", self.y, self.m, self.d)
    }
    fn month(self) -> &'static str {
        MONTHS[self.m as usize - 1]
    }
    /// One of the ways US business documents write a date (numeric dates month first).
    fn format(self, style: usize) -> String {
        let ord = match self.d {
            1 | 21 => "st",
            2 | 22 => "nd",
            3 | 23 => "rd",
            _ => "th",
        };
        match style % 7 {
            0 => format!("{} {}, {}", self.month(), self.d, self.y),
            1 => format!("{:02}/{:02}/{}", self.m, self.d, self.y),
            2 => format!("{} {} {}", self.d, self.month(), self.y),
            3 => self.iso(),
            4 => format!("{} {}, {}", &self.month()[..3], self.d, self.y),
            5 => format!("{}/{}/{}", self.m, self.d, self.y),
            _ => format!("{} {}{}, {}", self.month(), self.d, ord, self.y),
        }
    }
    fn random_format(self, rng: &mut Rng) -> String {
        let style = rng.below(7);
        self.format(style)
    }
}

/// Cents → "1234.50" (the normalised form) and a printed form.
fn money(cents: u64, style: usize) -> (String, String) {
    let whole = cents / 100;
    let frac = cents % 100;
    let plain = format!("{whole}.{frac:02}");
    let grouped = {
        let s = whole.to_string();
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        format!("{out}.{frac:02}")
    };
    let printed = match style % 5 {
        0 => format!("${grouped}"),
        1 => format!("USD {grouped}"),
        2 => grouped.clone(),
        3 => format!("$ {grouped}"),
        _ => format!("{grouped} USD"),
    };
    (plain, printed)
}

// --- Composition -------------------------------------------------------------------------------

/// Pages being composed: a cursor moving down, a new page when the current one is full.
struct Composer<'t> {
    ts: &'t Typesetter,
    pages: Vec<PageLayout>,
    /// Baseline of the last line, points from the top.
    y: f32,
    margin: f32,
    body: Style,
}

impl<'t> Composer<'t> {
    fn new(ts: &'t Typesetter, font: Font) -> Composer<'t> {
        let size = match font {
            Font::Times => 11.5,
            Font::Helvetica => 10.5,
            Font::Courier => 10.0,
        };
        Composer {
            ts,
            pages: vec![PageLayout::default()],
            y: 60.0,
            margin: 66.0,
            body: Style::new(font, size),
        }
    }
    fn leading(&self, style: Style) -> f32 {
        style.size * 1.35
    }
    fn page(&mut self) -> &mut PageLayout {
        self.pages.last_mut().expect("a page")
    }
    fn new_page(&mut self) {
        self.pages.push(PageLayout::default());
        self.y = 60.0;
    }
    fn ensure(&mut self, height: f32) {
        if self.y + height > PAGE_H - 60.0 {
            self.new_page();
        }
    }
    fn right_edge(&self) -> f32 {
        PAGE_W - self.margin
    }
    fn width(&self, text: &str, style: Style) -> f32 {
        self.ts
            .width(text, style)
            .unwrap_or(text.len() as f32 * style.size * 0.5)
    }
    /// Runs on one new line.
    fn row(&mut self, items: &[(f32, &str, Style)]) {
        let lead = items
            .iter()
            .map(|(_, _, s)| self.leading(*s))
            .fold(self.leading(self.body), f32::max);
        self.ensure(lead);
        self.y += lead;
        let y = self.y;
        for (x, text, style) in items {
            if !text.is_empty() {
                self.page().runs.push(Run {
                    x: *x,
                    baseline: y,
                    text: text.to_string(),
                    style: *style,
                });
            }
        }
    }
    fn line(&mut self, text: &str) {
        let (m, b) = (self.margin, self.body);
        self.row(&[(m, text, b)]);
    }
    fn line_style(&mut self, text: &str, style: Style) {
        let m = self.margin;
        self.row(&[(m, text, style)]);
    }
    fn right(&mut self, text: &str, style: Style) {
        let x = self.right_edge() - self.width(text, style);
        self.row(&[(x, text, style)]);
    }
    fn centered(&mut self, text: &str, style: Style) {
        let x = (PAGE_W - self.width(text, style)) / 2.0;
        self.row(&[(x, text, style)]);
    }
    fn gap(&mut self, points: f32) {
        self.y += points;
    }
    fn para(&mut self, text: &str) {
        let width = PAGE_W - 2.0 * self.margin;
        let lines = self
            .ts
            .wrap(text, self.body, width)
            .unwrap_or_else(|_| vec![text.to_string()]);
        for l in lines {
            self.line(&l);
        }
        self.gap(self.body.size * 0.6);
    }
    fn rule(&mut self, x0: f32, x1: f32, dy: f32) {
        let y = self.y + dy;
        self.page().rules.push(Rule {
            x0,
            y0: y,
            x1,
            y1: y,
            width: 0.8,
        });
    }
    /// A table: headers on a ruled line, then rows; `cols` are x positions; numeric columns
    /// (`right[i]`) are right-aligned to the next column's x (or the right margin).
    fn table(&mut self, cols: &[f32], headers: &[&str], rows: &[Vec<String>], right: &[bool]) {
        let bold = self.body.bold();
        let edge = self.right_edge();
        let place = |c: &Self, i: usize, text: &str, style: Style| -> f32 {
            if right.get(i).copied().unwrap_or(false) {
                let end = cols.get(i + 1).map(|x| x - 12.0).unwrap_or(edge);
                end - c.width(text, style)
            } else {
                cols[i]
            }
        };
        let items: Vec<(f32, &str, Style)> = headers
            .iter()
            .enumerate()
            .map(|(i, h)| (place(self, i, h, bold), *h, bold))
            .collect();
        self.row(&items);
        let (m, e) = (self.margin, self.right_edge());
        self.rule(m, e, 4.0);
        self.gap(3.0);
        for r in rows {
            let body = self.body;
            let items: Vec<(f32, &str, Style)> = r
                .iter()
                .enumerate()
                .map(|(i, t)| (place(self, i, t, body), t.as_str(), body))
                .collect();
            self.row(&items);
        }
        self.rule(m, e, 4.0);
        self.gap(4.0);
    }
    fn signature(&mut self, label: &str) {
        self.gap(18.0);
        let text = format!("{label} ______________________");
        self.line(&text);
    }
}

// --- Templates ---------------------------------------------------------------------------------

type Fields = BTreeMap<String, String>;

fn set(fields: &mut Fields, name: &str, value: impl Into<String>) {
    fields.insert(name.to_string(), value.into());
}

fn letterhead(c: &mut Composer, rng: &mut Rng, name: &str) {
    let (street, city) = address(rng);
    let big = c.body.bold().sized(c.body.size + 5.0);
    c.line_style(name, big);
    c.line(&street);
    c.line(&city);
    let phone = format!(
        "Tel. ({}) 555-{:04}",
        rng.between(200, 989),
        rng.between(100, 9999)
    );
    c.line(&phone);
    let (m, e) = (c.margin, c.right_edge());
    c.rule(m, e, 8.0);
    c.gap(16.0);
}

fn line_items(rng: &mut Rng, goods: bool) -> (Vec<Vec<String>>, u64) {
    let items: &[&str] = if goods {
        &[
            "Copy paper, 10 reams",
            "Toner cartridge",
            "Safety gloves (box)",
            "Steel shelving unit",
            "Hex bolts M10 (100)",
            "Laptop docking station",
            "Cable ties, 500 pack",
            "Ergonomic chair",
            "Label printer rolls",
        ]
    } else {
        &[
            "Consulting services",
            "Software subscription (annual)",
            "On-site support, 8 hours",
            "Cloud hosting - monthly",
            "Training workshop",
            "Freight and handling",
            "Maintenance visit",
            "Design revisions",
        ]
    };
    let n = rng.between(2, 4) as usize;
    let mut rows = Vec::new();
    let mut total = 0;
    for k in 0..n {
        let qty = rng.between(1, 24) as u64;
        let unit = rng.between(5, 900) as u64 * 100 + [0, 50, 99, 25][rng.below(4)];
        let line = qty * unit;
        total += line;
        rows.push(vec![
            items[(k * 3 + rng.below(items.len())) % items.len()].to_string(),
            qty.to_string(),
            money(unit, 2).1,
            money(line, 2).1,
        ]);
    }
    (rows, total)
}

fn identifier(rng: &mut Rng, prefixes: &[&str]) -> String {
    let prefix = rng.pick(prefixes);
    match rng.below(3) {
        0 => format!("{prefix}{}", rng.between(1000, 99999)),
        1 => format!(
            "{prefix}{}-{:04}",
            2023 + rng.below(4),
            rng.between(1, 9999)
        ),
        _ => format!("{prefix}{}", rng.between(100000, 9999999)),
    }
}

fn invoice(c: &mut Composer, rng: &mut Rng, template: usize) -> Fields {
    let mut f = Fields::new();
    let vendor = company(rng);
    let customer = company(rng);
    let number = identifier(rng, &["INV-", "", "A-", "IN", "2025/"]);
    let issued = Date::random(rng);
    let due = issued.plus_days(rng.between(14, 45));
    let goods = rng.chance(0.5);
    let (rows, subtotal) = line_items(rng, goods);
    let tax = subtotal * rng.between(0, 9) as u64 / 100;
    let total = subtotal + tax;
    let mstyle = rng.below(5);
    let (total_norm, total_printed) = money(total, mstyle);
    set(&mut f, "invoice_number", number.clone());
    set(&mut f, "total_amount", total_norm);
    set(&mut f, "due_date", due.iso());
    set(&mut f, "vendor_name", vendor.clone());
    let number_label = rng.pick(&[
        "Invoice No.",
        "Invoice #",
        "Invoice Number",
        "Invoice No:",
        "Invoice number",
    ]);
    let due_label = rng.pick(&["Due Date", "Payment Due", "Due date", "Date Due"]);
    let total_label = rng.pick(&[
        "Total Due",
        "Amount Due",
        "Balance Due",
        "TOTAL DUE",
        "Total Amount Due",
    ]);
    let b = c.body;
    let bold = b.bold();
    match template % 3 {
        // Letterhead, title and a label/value block on the right, bill-to on the left, table.
        0 => {
            letterhead(c, rng, &vendor);
            c.right("INVOICE", bold.sized(b.size + 9.0));
            c.gap(8.0);
            let x_label = 340.0;
            let x_value = 450.0;
            let colon = |s: &str| {
                if s.ends_with(':') {
                    s.to_string()
                } else {
                    format!("{s}:")
                }
            };
            let (nl, dl) = (colon(number_label), colon(due_label));
            let issued_s = issued.random_format(rng);
            let due_s = due.random_format(rng);
            c.row(&[
                (c.margin, "Bill To:", bold),
                (x_label, &nl, bold),
                (x_value, &number, b),
            ]);
            c.row(&[
                (c.margin, &customer, b),
                (x_label, "Date:", bold),
                (x_value, &issued_s, b),
            ]);
            let (street, city) = address(rng);
            c.row(&[
                (c.margin, &street, b),
                (x_label, &dl, bold),
                (x_value, &due_s, b),
            ]);
            c.row(&[(c.margin, &city, b)]);
            c.gap(20.0);
            let cols = [c.margin, 330.0, 390.0, 470.0];
            c.table(
                &cols,
                &["Description", "Qty", "Unit Price", "Amount"],
                &rows,
                &[false, true, true, true],
            );
            let sub = money(subtotal, 2).1;
            let tx = money(tax, 2).1;
            let tl = colon(total_label);
            c.row(&[(380.0, "Subtotal:", b), (470.0, &sub, b)]);
            c.row(&[(380.0, "Tax:", b), (470.0, &tx, b)]);
            c.row(&[(380.0, &tl, bold), (470.0, &total_printed, bold)]);
            c.gap(30.0);
            c.para("Payment terms: net 30 days. Please include the invoice number with your payment. Thank you for your business.");
        }
        // Plain label: value lines, title centred, items as text.
        1 => {
            c.centered(
                rng.pick(&["INVOICE", "Invoice", "TAX INVOICE"]),
                bold.sized(b.size + 8.0),
            );
            c.gap(14.0);
            let issued_s = issued.random_format(rng);
            let due_s = due.random_format(rng);
            c.line(&format!(
                "{} {number}",
                if number_label.ends_with(':') {
                    number_label.to_string()
                } else {
                    format!("{number_label}:")
                }
            ));
            c.line(&format!("Invoice date: {issued_s}"));
            c.line(&format!("{due_label}: {due_s}"));
            c.gap(10.0);
            c.line(&format!("From: {vendor}"));
            let (street, city) = address(rng);
            c.line(&format!("{street}, {city}"));
            c.gap(6.0);
            c.line(&format!("Bill to: {customer}"));
            c.gap(14.0);
            for r in &rows {
                c.line(&format!("{} x {} at {} = {}", r[1], r[0], r[2], r[3]));
            }
            c.gap(10.0);
            c.line(&format!("Subtotal: {}", money(subtotal, 0).1));
            c.line(&format!("Sales tax: {}", money(tax, 0).1));
            c.line_style(&format!("{total_label}: {total_printed}"), bold);
            c.gap(20.0);
            c.para(&format!("Please remit payment by {} to the account below, quoting the invoice number. Late payments may incur a fee of 1.5% per month.", due.format(0)));
            c.line(&format!(
                "Bank: First National, account {}",
                rng.between(10_000_000, 99_999_999)
            ));
        }
        // Boxed header: labels in a row, values below them; totals at the bottom right.
        _ => {
            let big = bold.sized(b.size + 4.0);
            c.row(&[
                (c.margin, &vendor, big),
                (430.0, "INVOICE", bold.sized(b.size + 8.0)),
            ]);
            let (street, city) = address(rng);
            c.line(&format!("{street} - {city}"));
            c.gap(18.0);
            let h1 = number_label.trim_end_matches(':').to_uppercase();
            let h3 = due_label.to_uppercase();
            c.row(&[
                (c.margin, &h1, bold),
                (230.0, "ISSUE DATE", bold),
                (380.0, &h3, bold),
            ]);
            let issued_s = issued.random_format(rng);
            let due_s = due.random_format(rng);
            c.row(&[
                (c.margin, &number, b),
                (230.0, &issued_s, b),
                (380.0, &due_s, b),
            ]);
            c.gap(14.0);
            c.line_style("CUSTOMER", bold);
            c.line(&customer);
            c.gap(14.0);
            let cols = [c.margin, 330.0, 390.0, 470.0];
            c.table(
                &cols,
                &["Item", "Qty", "Rate", "Line total"],
                &rows,
                &[false, true, true, true],
            );
            c.gap(10.0);
            let label = total_label.to_uppercase();
            c.row(&[(380.0, &label, bold)]);
            c.row(&[(380.0, &total_printed, bold)]);
            c.gap(24.0);
            c.para("Thank you. Questions about this invoice: accounts@example.com.");
        }
    }
    f
}

fn purchase_order(c: &mut Composer, rng: &mut Rng, template: usize) -> Fields {
    let mut f = Fields::new();
    let buyer = company(rng);
    let vendor = company(rng);
    let number = identifier(rng, &["PO-", "", "P0", "45000", "PO"]);
    let date = Date::random(rng);
    let delivery = date.plus_days(rng.between(7, 40));
    let (rows, subtotal) = line_items(rng, true);
    let (total_norm, total_printed) = money(subtotal, rng.below(5));
    set(&mut f, "po_number", number.clone());
    set(&mut f, "vendor_name", vendor.clone());
    set(&mut f, "total_amount", total_norm);
    let number_label = rng.pick(&[
        "PO Number",
        "P.O. No.",
        "PO #",
        "Purchase Order No.",
        "Order Number",
    ]);
    let vendor_label = rng.pick(&["Vendor", "Supplier", "Vendor Name"]);
    let total_label = rng.pick(&["Order Total", "Total", "TOTAL"]);
    let requester = person(rng);
    let b = c.body;
    let bold = b.bold();
    match template % 3 {
        0 => {
            letterhead(c, rng, &buyer);
            c.right("PURCHASE ORDER", bold.sized(b.size + 7.0));
            c.gap(8.0);
            let date_s = date.random_format(rng);
            c.row(&[
                (340.0, &format!("{number_label}:"), bold),
                (460.0, &number, b),
            ]);
            c.row(&[(340.0, "Date:", bold), (460.0, &date_s, b)]);
            c.gap(12.0);
            c.row(&[
                (c.margin, &format!("{vendor_label}:"), bold),
                (320.0, "Ship To:", bold),
            ]);
            let (s1, c1) = address(rng);
            let (s2, c2) = address(rng);
            c.row(&[(c.margin, &vendor, b), (320.0, &buyer, b)]);
            c.row(&[(c.margin, &s1, b), (320.0, &s2, b)]);
            c.row(&[(c.margin, &c1, b), (320.0, &c2, b)]);
            c.gap(18.0);
            let cols = [c.margin, 330.0, 390.0, 470.0];
            c.table(
                &cols,
                &["Description", "Qty", "Unit Price", "Total"],
                &rows,
                &[false, true, true, true],
            );
            c.row(&[
                (380.0, &format!("{total_label}:"), bold),
                (470.0, &total_printed, bold),
            ]);
            c.gap(16.0);
            c.line(&format!("Delivery required by {}.", delivery.format(0)));
            c.line(&format!("Requested by: {requester}"));
            c.signature("Authorized Signature:");
        }
        1 => {
            c.centered(
                rng.pick(&["Purchase Order", "PURCHASE ORDER"]),
                bold.sized(b.size + 8.0),
            );
            c.centered(&buyer, b);
            c.gap(16.0);
            c.line(&format!("{number_label}: {number}"));
            c.line(&format!("Order date: {}", date.random_format(rng)));
            c.line(&format!("{vendor_label}: {vendor}"));
            c.line(&format!(
                "Deliver to: {}, {}",
                address(rng).0,
                address(rng).1
            ));
            c.line(&format!("Delivery date: {}", delivery.random_format(rng)));
            c.gap(12.0);
            c.para("Please supply the goods below at the prices stated. Quote the order number on every delivery note and invoice.");
            for (k, r) in rows.iter().enumerate() {
                c.line(&format!(
                    "Line {}: {} - {} units at {} = {}",
                    k + 1,
                    r[0],
                    r[1],
                    r[2],
                    r[3]
                ));
            }
            c.gap(8.0);
            c.line_style(&format!("{total_label}: {total_printed}"), bold);
            c.gap(10.0);
            c.line(&format!("Buyer: {requester}"));
            c.line("Payment terms: net 45 days after receipt of a correct invoice.");
            c.signature("Approved by:");
        }
        _ => {
            let big = bold.sized(b.size + 4.0);
            c.row(&[(c.margin, &buyer, big)]);
            c.line(&address(rng).1);
            c.gap(6.0);
            c.centered("PURCHASE ORDER", bold.sized(b.size + 6.0));
            c.gap(12.0);
            let h1 = number_label.to_uppercase();
            c.row(&[
                (c.margin, &h1, bold),
                (240.0, "ORDER DATE", bold),
                (400.0, "REQUESTED BY", bold),
            ]);
            let date_s = date.random_format(rng);
            c.row(&[
                (c.margin, &number, b),
                (240.0, &date_s, b),
                (400.0, &requester, b),
            ]);
            c.gap(14.0);
            let vl = vendor_label.to_uppercase();
            c.row(&[(c.margin, &vl, bold), (320.0, "SHIP TO", bold)]);
            c.row(&[(c.margin, &vendor, b), (320.0, &buyer, b)]);
            let (s1, c1) = address(rng);
            c.row(&[(c.margin, &s1, b), (320.0, &c1, b)]);
            c.gap(16.0);
            let cols = [c.margin, 330.0, 390.0, 470.0];
            c.table(
                &cols,
                &["Item", "Quantity", "Unit cost", "Amount"],
                &rows,
                &[false, true, true, true],
            );
            c.row(&[
                (380.0, &total_label.to_uppercase(), bold),
                (470.0, &total_printed, bold),
            ]);
            c.gap(12.0);
            c.para("Shipping method: ground freight, FOB destination. Partial shipments require the buyer's approval.");
            c.signature("Authorized by:");
        }
    }
    f
}

const NDA_CLAUSES: [&str; 9] = [
    "Purpose. The parties wish to explore a possible business relationship (the \"Purpose\") and, in doing so, may share information that is not public.",
    "Confidential Information. \"Confidential Information\" means any business, technical or financial information disclosed by one party to the other, in writing, orally or by inspection, that is marked confidential or that a reasonable person would understand to be confidential.",
    "Obligations. The recipient shall use the Confidential Information only for the Purpose, shall protect it with at least reasonable care, and shall not disclose it to any third party except to its employees and advisers who need to know it and are bound by duties of confidentiality no less protective than these.",
    "Exclusions. These obligations do not apply to information that is or becomes public through no fault of the recipient, was known to the recipient before disclosure, is independently developed, or is rightfully received from a third party without restriction.",
    "Compelled disclosure. If the recipient is required by law to disclose Confidential Information, it shall give prompt notice so that the discloser may seek a protective order.",
    "Return of materials. On request, the recipient shall promptly return or destroy all Confidential Information and any copies, and confirm this in writing.",
    "Term. This Agreement lasts two (2) years from the date above; the duty to protect trade secrets survives for as long as they remain trade secrets.",
    "No licence. Nothing in this Agreement grants any right or licence in the discloser's intellectual property, and no party is obliged to enter into any further agreement.",
    "Governing law. This Agreement is governed by the laws of the State named above, without regard to its conflict of law rules. Each party consents to the jurisdiction of its courts.",
];

fn signature_blocks(c: &mut Composer, a: &str, b: &str) {
    c.gap(16.0);
    let bold = c.body.bold();
    let body = c.body;
    c.row(&[(c.margin, a, bold), (330.0, b, bold)]);
    c.gap(14.0);
    c.row(&[
        (c.margin, "Signature: ______________", body),
        (330.0, "Signature: ______________", body),
    ]);
    c.row(&[(c.margin, "Name:", body), (330.0, "Name:", body)]);
    c.row(&[(c.margin, "Title:", body), (330.0, "Title:", body)]);
    c.row(&[(c.margin, "Date:", body), (330.0, "Date:", body)]);
}

fn nda(c: &mut Composer, rng: &mut Rng, template: usize) -> Fields {
    let mut f = Fields::new();
    let a = company(rng);
    let bname = company(rng);
    let date = Date::random(rng);
    let state = rng.pick(&STATES);
    set(&mut f, "party_a", a.clone());
    set(&mut f, "party_b", bname.clone());
    set(&mut f, "effective_date", date.iso());
    let b = c.body;
    let bold = b.bold();
    match template % 3 {
        // Two pages of prose: "entered into as of DATE (the "Effective Date") by and between".
        0 => {
            c.centered(
                rng.pick(&[
                    "MUTUAL NON-DISCLOSURE AGREEMENT",
                    "MUTUAL NONDISCLOSURE AGREEMENT",
                ]),
                bold.sized(b.size + 4.0),
            );
            c.gap(14.0);
            c.para(&format!(
                "This Mutual Non-Disclosure Agreement (the \"Agreement\") is entered into as of {} (the \"Effective Date\") by and between {a}, a {state} company (\"{}\"), and {bname}, a company organised under the laws of {} (\"{}\"). Each party may disclose Confidential Information to the other.",
                date.random_format(rng),
                a.split(' ').next().unwrap_or("First Party"),
                rng.pick(&STATES),
                bname.split(' ').next().unwrap_or("Second Party"),
            ));
            for (k, clause) in NDA_CLAUSES.iter().enumerate() {
                c.para(&format!("{}. {clause}", k + 1));
            }
            c.new_page();
            c.para("10. Entire agreement. This Agreement is the entire agreement between the parties about its subject and may be changed only in a writing signed by both parties.");
            c.para("IN WITNESS WHEREOF, the parties have signed this Agreement by their authorised representatives.");
            signature_blocks(c, &a, &bname);
        }
        // Cover table of labelled terms, then short clauses.
        1 => {
            c.centered(
                rng.pick(&["CONFIDENTIALITY AGREEMENT", "NON-DISCLOSURE AGREEMENT"]),
                bold.sized(b.size + 4.0),
            );
            c.gap(12.0);
            let (la, lb) = *[
                ("Disclosing Party", "Receiving Party"),
                ("Party A", "Party B"),
                ("First Party", "Second Party"),
            ]
            .get(rng.below(3))
            .expect("three");
            let d = date.random_format(rng);
            c.row(&[(c.margin, &format!("{la}:"), bold), (210.0, &a, b)]);
            c.row(&[(c.margin, &format!("{lb}:"), bold), (210.0, &bname, b)]);
            c.row(&[(c.margin, "Effective Date:", bold), (210.0, &d, b)]);
            c.row(&[(c.margin, "Governing Law:", bold), (210.0, state, b)]);
            c.gap(14.0);
            c.para("The parties named above agree as follows.");
            for (k, clause) in NDA_CLAUSES.iter().enumerate().skip(1).take(5) {
                c.para(&format!("{}. {clause}", k));
            }
            signature_blocks(c, &a, &bname);
        }
        // One-way NDA, dated in words: "made on the 5th day of March, 2025 between".
        _ => {
            c.centered("NON-DISCLOSURE AGREEMENT", bold.sized(b.size + 4.0));
            c.centered("(One-Way)", b);
            c.gap(12.0);
            let ord = match date.d {
                1 | 21 => "st",
                2 | 22 => "nd",
                3 | 23 => "rd",
                _ => "th",
            };
            c.para(&format!(
                "THIS AGREEMENT is made effective on the {}{ord} day of {}, {} between {a}, with offices at {}, {} (the \"Discloser\"), and {bname} (the \"Recipient\").",
                date.d, date.month(), date.y, address(rng).0, address(rng).1
            ));
            for (k, clause) in NDA_CLAUSES.iter().enumerate().take(7) {
                c.para(&format!(
                    "{}. {}",
                    k + 1,
                    clause.replace("the recipient", "the Recipient")
                ));
            }
            signature_blocks(c, &a, &bname);
        }
    }
    f
}

const VA_CLAUSES: [&str; 8] = [
    "Services. The Provider shall perform the services described in each statement of work signed by both parties (the \"Services\") with reasonable skill and care and in accordance with good industry practice.",
    "Fees and payment. The Client shall pay the fees set out in the statement of work within thirty (30) days of a correct invoice. Late amounts bear interest at one percent per month.",
    "Service levels. The Provider shall meet the service levels in Schedule 2; repeated failures entitle the Client to service credits as its remedy for the failure.",
    "Term and termination. This Agreement starts on the Effective Date and continues for twelve (12) months, renewing for further twelve month periods unless either party gives sixty (60) days written notice.",
    "Warranties. Each party warrants that it has the authority to enter into this Agreement. The Provider warrants that the deliverables will conform to their specifications for ninety (90) days.",
    "Indemnification. The Provider shall defend and indemnify the Client against third party claims that the deliverables infringe intellectual property rights.",
    "Limitation of liability. Except for indemnities and breaches of confidentiality, neither party's total liability exceeds the fees paid in the twelve months before the claim.",
    "Governing law. This Agreement is governed by the laws of the State of New York.",
];

fn vendor_agreement(c: &mut Composer, rng: &mut Rng, template: usize) -> Fields {
    let mut f = Fields::new();
    let client = company(rng);
    let vendor = company(rng);
    let date = Date::random(rng);
    set(&mut f, "counterparty_name", vendor.clone());
    set(&mut f, "effective_date", date.iso());
    let b = c.body;
    let bold = b.bold();
    let title = rng.pick(&[
        "MASTER SERVICES AGREEMENT",
        "PROFESSIONAL SERVICES AGREEMENT",
        "SERVICES AGREEMENT",
        "CONSULTING AGREEMENT",
    ]);
    match template % 3 {
        // Prose, two pages: "between CLIENT ("Client") and VENDOR ("Provider")".
        0 => {
            c.centered(title, bold.sized(b.size + 4.0));
            c.gap(14.0);
            let role = rng.pick(&["Provider", "Service Provider", "Consultant", "Vendor"]);
            c.para(&format!(
                "This {} (the \"Agreement\") is entered into as of {} (the \"Effective Date\") by and between {client}, a {} corporation (the \"Client\"), and {vendor}, with its principal office at {}, {} (the \"{role}\").",
                title.to_lowercase().split(' ').map(|w| { let mut ch = w.chars(); ch.next().map(|x| x.to_uppercase().collect::<String>() + ch.as_str()).unwrap_or_default() }).collect::<Vec<_>>().join(" "),
                date.random_format(rng),
                rng.pick(&STATES),
                address(rng).0,
                address(rng).1,
            ));
            for (k, clause) in VA_CLAUSES.iter().enumerate() {
                c.para(&format!("{}. {}", k + 1, clause.replace("Provider", role)));
            }
            c.new_page();
            c.para("9. Entire agreement. This Agreement and its statements of work are the entire agreement of the parties and supersede all prior proposals.");
            c.para("Agreed by the parties' authorised representatives:");
            signature_blocks(c, &client, &vendor);
        }
        // Cover page of terms (label: value), then clauses.
        1 => {
            let t = rng.pick(&[
                "SOFTWARE LICENSE AGREEMENT",
                "CLOUD SERVICE AGREEMENT",
                "SUPPLY AGREEMENT",
                "VENDOR AGREEMENT",
            ]);
            c.centered(t, bold.sized(b.size + 4.0));
            c.centered("Order and Key Terms", b);
            c.gap(12.0);
            let (cl, vl) = *[
                ("Customer", "Vendor"),
                ("Client", "Supplier"),
                ("Customer", "Provider"),
                ("Company", "Contractor"),
            ]
            .get(rng.below(4))
            .expect("four");
            let d = date.random_format(rng);
            let fee = money(rng.between(500, 90_000) as u64 * 100, 0).1;
            c.row(&[(c.margin, &format!("{cl}:"), bold), (220.0, &client, b)]);
            c.row(&[(c.margin, &format!("{vl}:"), bold), (220.0, &vendor, b)]);
            c.row(&[(c.margin, "Effective Date:", bold), (220.0, &d, b)]);
            c.row(&[
                (c.margin, "Subscription Fee:", bold),
                (220.0, &format!("{fee} per year"), b),
            ]);
            c.row(&[(c.margin, "Initial Term:", bold), (220.0, "24 months", b)]);
            c.gap(14.0);
            for (k, clause) in VA_CLAUSES.iter().enumerate().skip(1).take(6) {
                c.para(&format!(
                    "{}. {}",
                    k,
                    clause.replace("Provider", vl).replace("Client", cl)
                ));
            }
            signature_blocks(c, &client, &vendor);
        }
        // Letter-style agreement from the client's letterhead; the vendor named in a table.
        _ => {
            letterhead(c, rng, &client);
            c.centered(title, bold.sized(b.size + 3.0));
            c.gap(10.0);
            let d = date.random_format(rng);
            c.row(&[
                (c.margin, "Agreement Date", bold),
                (300.0, "Service Provider", bold),
            ]);
            c.row(&[(c.margin, &d, b), (300.0, &vendor, b)]);
            c.gap(14.0);
            c.para(&format!("{client} engages the Service Provider named above on the terms below, effective from the Agreement Date."));
            for (k, clause) in VA_CLAUSES.iter().enumerate().take(7) {
                c.para(&format!(
                    "{}. {}",
                    k + 1,
                    clause.replace("Provider", "Service Provider")
                ));
            }
            signature_blocks(c, &client, &vendor);
        }
    }
    f
}

fn hr_form(c: &mut Composer, rng: &mut Rng, template: usize) -> Fields {
    let mut f = Fields::new();
    let employer = company(rng);
    let employee = person(rng);
    let start = Date::random(rng);
    set(&mut f, "employee_name", employee.clone());
    let b = c.body;
    let bold = b.bold();
    let job = rng.pick(&[
        "Accounts Assistant",
        "Warehouse Supervisor",
        "Data Analyst",
        "Registered Nurse",
        "Sales Representative",
        "Software Engineer",
    ]);
    let manager = person(rng);
    match template % 3 {
        // An application form: labelled lines.
        0 => {
            c.line_style(&employer, bold.sized(b.size + 2.0));
            c.gap(6.0);
            c.centered(
                rng.pick(&["EMPLOYMENT APPLICATION", "APPLICATION FOR EMPLOYMENT"]),
                bold.sized(b.size + 5.0),
            );
            c.gap(14.0);
            c.line_style("Personal Information", bold);
            let name_label = rng.pick(&["Full Name", "Applicant Name", "Name"]);
            c.row(&[
                (c.margin, &format!("{name_label}:"), bold),
                (200.0, &employee, b),
            ]);
            let (s, city) = address(rng);
            c.row(&[
                (c.margin, "Address:", bold),
                (200.0, &format!("{s}, {city}"), b),
            ]);
            let phone = format!(
                "({}) 555-{:04}",
                rng.between(200, 989),
                rng.between(100, 9999)
            );
            c.row(&[(c.margin, "Phone:", bold), (200.0, &phone, b)]);
            c.row(&[(c.margin, "Position applied for:", bold), (200.0, job, b)]);
            c.row(&[
                (c.margin, "Available start date:", bold),
                (200.0, &start.random_format(rng), b),
            ]);
            c.gap(12.0);
            c.line_style("Employment History", bold);
            let prev = company(rng);
            c.row(&[(c.margin, "Previous employer:", bold), (200.0, &prev, b)]);
            c.row(&[
                (c.margin, "Job title:", bold),
                (
                    200.0,
                    rng.pick(&["Clerk", "Technician", "Coordinator", "Assistant"]),
                    b,
                ),
            ]);
            c.row(&[(c.margin, "Supervisor:", bold), (200.0, &manager, b)]);
            c.row(&[
                (c.margin, "Reason for leaving:", bold),
                (200.0, "Relocation", b),
            ]);
            c.gap(12.0);
            c.para("I certify that the information in this application is true and complete. I understand that false information may be grounds for not hiring me or for termination of employment.");
            c.signature("Applicant Signature:");
            c.line("Date: ______________");
        }
        // A personnel action form: labels above values in columns.
        1 => {
            c.centered(
                rng.pick(&[
                    "PERSONNEL ACTION FORM",
                    "CHANGE OF STATUS FORM",
                    "EMPLOYEE INFORMATION FORM",
                ]),
                bold.sized(b.size + 5.0),
            );
            c.centered(&employer, b);
            c.gap(14.0);
            let name_label = rng.pick(&["EMPLOYEE NAME", "Employee Name", "NAME OF EMPLOYEE"]);
            c.row(&[(c.margin, name_label, bold), (330.0, "EMPLOYEE ID", bold)]);
            let id = format!("E-{}", rng.between(10000, 99999));
            c.row(&[(c.margin, &employee, b), (330.0, &id, b)]);
            c.gap(8.0);
            c.row(&[
                (c.margin, "DEPARTMENT", bold),
                (330.0, "EFFECTIVE DATE", bold),
            ]);
            let eff = start.random_format(rng);
            c.row(&[
                (
                    c.margin,
                    rng.pick(&["Finance", "Operations", "Nursing", "Sales", "Engineering"]),
                    b,
                ),
                (330.0, &eff, b),
            ]);
            c.gap(8.0);
            c.row(&[(c.margin, "JOB TITLE", bold), (330.0, "SUPERVISOR", bold)]);
            c.row(&[(c.margin, job, b), (330.0, &manager, b)]);
            c.gap(14.0);
            c.line_style("Type of action (check one)", bold);
            c.line(
                "[X] New hire   [ ] Promotion   [ ] Transfer   [ ] Pay change   [ ] Termination",
            );
            let (salary, _) = money(rng.between(38, 140) as u64 * 100_000, 0);
            c.line(&format!(
                "Annual salary: ${}",
                salary.trim_end_matches(".00")
            ));
            c.gap(10.0);
            c.signature("Employee Signature:");
            c.signature("HR Approval:");
        }
        // An offer letter with an acceptance block.
        _ => {
            letterhead(c, rng, &employer);
            c.line(&start.format(rng.below(3)));
            c.gap(10.0);
            c.line(&employee);
            let (s, city) = address(rng);
            c.line(&s);
            c.line(&city);
            c.gap(10.0);
            c.line_style(&format!("Re: Offer of employment - {job}"), bold);
            c.gap(6.0);
            c.line(&format!(
                "Dear {},",
                employee.split(' ').next().unwrap_or("Candidate")
            ));
            c.gap(6.0);
            let salary = rng.between(38, 140) * 1000;
            c.para(&format!("We are pleased to offer you the position of {job}, reporting to {manager}. Your start date will be {}, and your base salary will be ${salary} per year, paid every two weeks. The position is full time and at-will.", start.format(0)));
            c.para("This offer is subject to a background check and to proof of your right to work. You will be eligible for our benefits plan from your first day, and for 20 days of paid time off per year.");
            c.para("Please sign and return this letter within seven days to accept the offer.");
            c.line("Sincerely,");
            c.line(&format!("{}, Human Resources", person(rng)));
            c.gap(14.0);
            c.line_style("Acceptance", bold);
            c.line("I accept the offer of employment on the terms above.");
            c.row(&[(c.margin, "Employee name:", bold), (200.0, &employee, b)]);
            c.signature("Signature:");
        }
    }
    f
}

fn unclassified(c: &mut Composer, rng: &mut Rng, kind: usize) -> (Fields, &'static str) {
    let b = c.body;
    let bold = b.bold();
    let which = kind % 5;
    match which {
        0 => {
            let dish = rng.pick(&[
                "Lemon Herb Roast Chicken",
                "Vegetable Lasagna",
                "Spiced Lentil Soup",
                "Blueberry Muffins",
            ]);
            c.centered(dish, bold.sized(b.size + 6.0));
            c.centered(
                &format!(
                    "Serves {} - Prep {} min - Cook {} min",
                    rng.between(2, 8),
                    rng.between(10, 30),
                    rng.between(20, 90)
                ),
                b,
            );
            c.gap(14.0);
            c.line_style("Ingredients", bold);
            for i in [
                "2 cups flour",
                "1 tablespoon olive oil",
                "3 cloves garlic, minced",
                "1 teaspoon salt",
                "250 g fresh spinach",
                "1 lemon, zested",
                "2 eggs",
            ] {
                c.line(&format!("- {i}"));
            }
            c.gap(10.0);
            c.line_style("Method", bold);
            c.para("1. Preheat the oven to 200 C. Lightly oil a baking dish and set it aside.");
            c.para("2. Mix the dry ingredients in a large bowl. Whisk the eggs with the oil and lemon zest, then fold them in until just combined.");
            c.para("3. Bake for 35 minutes, until golden. Rest for ten minutes before serving with a green salad.");
        }
        1 => {
            c.centered("MEMORANDUM", bold.sized(b.size + 6.0));
            c.gap(12.0);
            let d = Date::random(rng).random_format(rng);
            c.row(&[(c.margin, "To:", bold), (130.0, "All project staff", b)]);
            c.row(&[(c.margin, "From:", bold), (130.0, &person(rng), b)]);
            c.row(&[(c.margin, "Date:", bold), (130.0, &d, b)]);
            c.row(&[
                (c.margin, "Subject:", bold),
                (130.0, "Minutes of the weekly planning meeting", b),
            ]);
            let (m, e) = (c.margin, c.right_edge());
            c.rule(m, e, 6.0);
            c.gap(14.0);
            c.para(&format!(
                "Attendees: {}, {}, {} and {}.",
                person(rng),
                person(rng),
                person(rng),
                person(rng)
            ));
            c.para("1. The office move is on schedule for the end of next month. Facilities will circulate the seating plan on Friday.");
            c.para("2. The quarterly town hall will be held in the main conference room. Questions can be submitted in advance through the intranet.");
            c.para("3. Action items: update the project tracker, book the training room, and confirm the holiday rota by Wednesday.");
            c.para("Next meeting: same time next week.");
        }
        2 => {
            let city = rng.pick(&["Riverton", "Maple Creek", "Granite Bay", "Oakmont"]);
            c.line_style("THE DAILY COURIER", bold.sized(b.size + 10.0));
            c.line(&format!("{} - Local News", Date::random(rng).format(0)));
            let (m, e) = (c.margin, c.right_edge());
            c.rule(m, e, 6.0);
            c.gap(14.0);
            c.line_style(
                &format!("{city} library reopens after year-long renovation"),
                bold.sized(b.size + 4.0),
            );
            c.line(&format!("By {}", person(rng)));
            c.gap(6.0);
            c.para(&format!("The {city} public library welcomed visitors back on Saturday after a renovation that added a children's wing, a maker space and solar panels on the roof. Hundreds of residents queued before the doors opened."));
            c.para("\"We wanted a building that works for everyone,\" the head librarian said, pointing to the new reading garden. The project came in slightly under its budget, according to the city council.");
            c.para("Opening hours have been extended to eight in the evening on weekdays. A programme of author talks and coding clubs starts next month, and volunteers are still being recruited.");
            c.para("Elsewhere, the farmers market will move to the riverside park for the summer season, and road works on the main bridge are expected to finish in June.");
        }
        3 => {
            let utility = format!(
                "{} {}",
                rng.pick(&STEMS),
                rng.pick(&["Electric", "Water & Power", "Energy", "Gas Company"])
            );
            c.line_style(&utility, bold.sized(b.size + 6.0));
            c.line("Customer Service 1-800-555-0142");
            c.gap(10.0);
            c.centered("Your Monthly Statement", bold.sized(b.size + 3.0));
            c.gap(10.0);
            let customer = person(rng);
            let (s, city) = address(rng);
            let acct = format!(
                "{}-{}",
                rng.between(1000, 9999),
                rng.between(100000, 999999)
            );
            let stmt = Date::random(rng);
            c.row(&[(c.margin, "Account holder:", bold), (220.0, &customer, b)]);
            c.row(&[
                (c.margin, "Service address:", bold),
                (220.0, &format!("{s}, {city}"), b),
            ]);
            c.row(&[(c.margin, "Account number:", bold), (220.0, &acct, b)]);
            c.row(&[
                (c.margin, "Statement date:", bold),
                (220.0, &stmt.format(1), b),
            ]);
            c.gap(12.0);
            let kwh = rng.between(200, 1400);
            let charge = kwh as u64 * 14;
            c.line(&format!("Electricity used this period: {kwh} kWh"));
            c.line(&format!("Energy charge: {}", money(charge, 0).1));
            c.line("Basic service charge: $12.00");
            c.line(&format!("Amount due: {}", money(charge + 1200, 0).1));
            c.line(&format!("Please pay by: {}", stmt.plus_days(21).format(0)));
            c.gap(12.0);
            c.para("Compare your usage: this month you used 8% less electricity than the same month last year. Sign up for paperless billing and autopay on our website.");
        }
        _ => {
            let place = format!(
                "{} {}",
                rng.pick(&["The Golden", "Little", "Blue", "Old Town"]),
                rng.pick(&["Spoon", "Bistro", "Noodle Bar", "Diner", "Cafe"])
            );
            c.centered(&place, bold.sized(b.size + 5.0));
            c.centered(&address(rng).0, b);
            c.centered(
                &format!(
                    "Table {} - Server: {}",
                    rng.between(1, 30),
                    rng.pick(&FIRST)
                ),
                b,
            );
            c.gap(10.0);
            let mut sum = 0u64;
            for item in [
                "Soup of the day",
                "Grilled salmon",
                "Caesar salad",
                "Sparkling water",
                "Espresso",
            ] {
                let p = rng.between(3, 28) as u64 * 100 + 50;
                sum += p;
                let price = money(p, 2).1;
                c.row(&[(c.margin + 60.0, item, b), (400.0, &price, b)]);
            }
            let tax = sum * 8 / 100;
            c.gap(8.0);
            c.row(&[
                (c.margin + 60.0, "Subtotal", b),
                (400.0, &money(sum, 2).1, b),
            ]);
            c.row(&[(c.margin + 60.0, "Tax", b), (400.0, &money(tax, 2).1, b)]);
            c.row(&[
                (c.margin + 60.0, "Total", bold),
                (400.0, &money(sum + tax, 0).1, bold),
            ]);
            c.gap(10.0);
            c.centered("VISA **** 4821 - APPROVED", b);
            c.centered("Thank you for dining with us!", b);
        }
    }
    let kind = ["recipe", "memo", "news", "utility_bill", "receipt"][which];
    (Fields::new(), kind)
}

// --- The set -----------------------------------------------------------------------------------

/// The degradation of the `i`-th document of a class: 40 % clean, the rest mild scanner damage;
/// document 8 of each class upside down.
fn degradation(i: usize, seed: u64) -> Degradation {
    match i % 10 {
        0 | 2 | 5 | 7 => Degradation::Clean,
        1 => Degradation::Skew(1.5),
        3 => Degradation::GaussianNoise { sigma: 22.0, seed },
        4 => Degradation::LowContrast {
            text: 110,
            background: 200,
        },
        6 => Degradation::Skew(-2.5),
        8 => Degradation::Rotate(180),
        _ => Degradation::Blur(0.9),
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), SynthError> {
    std::fs::write(path, bytes).map_err(|e| SynthError::Write {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// Writes grey page images as one file: a PNG for one page, an image-only PDF for several.
/// Returns the file written.
pub fn write_pages(
    dir: &Path,
    name: &str,
    pages: &[image::GrayImage],
) -> Result<PathBuf, SynthError> {
    let pngs: Vec<Vec<u8>> = pages
        .iter()
        .map(|p| encode_png(p, DPI))
        .collect::<Result<_, _>>()?;
    if pngs.len() == 1 {
        let path = dir.join(format!("{name}.png"));
        write(&path, &pngs[0])?;
        return Ok(path);
    }
    let pdf =
        countersign_ocr::pdf::image_pdf(&pngs, DPI as f32).map_err(|e| SynthError::Pdfium {
            action: "write a PDF",
            message: e.to_string(),
        })?;
    let path = dir.join(format!("{name}.pdf"));
    write(&path, &pdf)?;
    Ok(path)
}

/// Generates `per_class` documents of each class into `dir` (created if needed), deterministic
/// for a given `seed`. `on_doc` is called after each document.
pub fn generate(
    dir: &Path,
    per_class: usize,
    seed: u64,
    mut on_doc: impl FnMut(&Generated),
) -> Result<Vec<Generated>, SynthError> {
    std::fs::create_dir_all(dir).map_err(|e| SynthError::Write {
        path: dir.to_owned(),
        message: e.to_string(),
    })?;
    let mut ts = Typesetter::new()?;
    let fonts = [Font::Times, Font::Helvetica, Font::Courier];
    let mut out = Vec::new();
    for (ci, class) in CLASSES.iter().enumerate() {
        for i in 0..per_class {
            let mut rng =
                Rng(seed ^ ((ci as u64) << 32) ^ (i as u64).wrapping_mul(0x51_7CC1_B727_220A));
            rng.next();
            let template = (i + ci) % 3;
            let font = fonts[(i + i / 3 + ci) % 3];
            let mut c = Composer::new(&ts, font);
            let (fields, template_name) = match *class {
                "invoice" => (
                    invoice(&mut c, &mut rng, template),
                    format!("invoice-{template}"),
                ),
                "purchase_order" => (
                    purchase_order(&mut c, &mut rng, template),
                    format!("po-{template}"),
                ),
                "nda" => (nda(&mut c, &mut rng, template), format!("nda-{template}")),
                "vendor_agreement" => (
                    vendor_agreement(&mut c, &mut rng, template),
                    format!("va-{template}"),
                ),
                "hr_form" => (
                    hr_form(&mut c, &mut rng, template),
                    format!("hr-{template}"),
                ),
                _ => {
                    let (f, kind) = unclassified(&mut c, &mut rng, i);
                    (f, kind.to_string())
                }
            };
            let layouts = std::mem::take(&mut c.pages);
            drop(c);
            let degradation = degradation(i, seed.wrapping_add((ci * 100 + i) as u64));
            let mut images = Vec::new();
            for (p, layout) in layouts.iter().enumerate() {
                let page = ts.render(layout)?;
                // Upside down: the first page only (a sheet fed the wrong way round).
                let d = match degradation {
                    Degradation::Rotate(_) if p > 0 => Degradation::Clean,
                    d => d,
                };
                images.push(d.apply(&page).0);
            }
            let name = format!(
                "{class}-{i:02}-{template_name}-{}-{}",
                font.name(),
                degradation.slug()
            );
            let file = write_pages(dir, &name, &images)?;
            let label = Label {
                document_type: class.to_string(),
                fields,
                template: Some(template_name),
                font: Some(font.name().to_string()),
                degradation: Some(degradation.kind().to_string()),
                pages: Some(images.len()),
            };
            let json = serde_json::to_string_pretty(&label).expect("label serialises");
            write(&dir.join(format!("{name}.label.json")), json.as_bytes())?;
            let g = Generated { name, file, label };
            on_doc(&g);
            out.push(g);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_money_print_and_normalise() {
        let d = Date {
            y: 2025,
            m: 3,
            d: 5,
        };
        assert_eq!(d.iso(), "2025-03-05");
        assert_eq!(d.format(0), "March 5, 2025");
        assert_eq!(d.format(1), "03/05/2025");
        assert_eq!(d.format(2), "5 March 2025");
        assert_eq!(d.format(6), "March 5th, 2025");
        for style in 0..7 {
            assert_eq!(
                countersign_route::normalize::date(&d.format(style), Default::default()).as_deref(),
                Some("2025-03-05"),
                "{}",
                d.format(style)
            );
        }
        let (plain, printed) = money(123_450, 0);
        assert_eq!((plain.as_str(), printed.as_str()), ("1234.50", "$1,234.50"));
        for style in 0..5 {
            assert_eq!(
                countersign_route::normalize::amount(&money(123_450, style).1).as_deref(),
                Some("1234.50")
            );
        }
    }

    #[test]
    fn the_rng_is_deterministic() {
        let mut a = Rng(7);
        let mut b = Rng(7);
        let xs: Vec<u64> = (0..5).map(|_| a.next()).collect();
        let ys: Vec<u64> = (0..5).map(|_| b.next()).collect();
        assert_eq!(xs, ys);
        assert!(Date::random(&mut a).d <= 28);
    }
}
