//! Normalisation of what OCR read into the canonical values fields carry: ISO 8601 dates,
//! decimal amounts, trimmed names and identifiers, and the lower-case tokens rules match on.
//!
//! Every function returns `None` when the text is not a value of that kind, so extractors can try
//! candidates until one fits.

use chrono::NaiveDate;
use serde::Deserialize;

/// How an all-numeric date with a two-digit first part is read (`01/02/2024`): month first
/// (`mdy`, US) or day first (`dmy`). A part above 12 settles it either way; dotted dates
/// (`01.02.2024`) are always day first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateOrder {
    #[default]
    Mdy,
    Dmy,
}

/// A word as rules compare it: lower case, letters, digits and `#` only ("Number:" → "number"),
/// accents folded ("Numéro" → "numero", "Größe" → "grosse"): OCR drops and confuses diacritics,
/// and a policy should not have to spell every phrase both ways.
pub fn token(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars().flat_map(char::to_lowercase) {
        if c == '#' || c == '&' {
            out.push(c);
        } else if c.is_alphanumeric() {
            match fold_accent(c) {
                Some(plain) => out.push_str(plain),
                None => out.push(c),
            }
        }
    }
    // "&" written as a word is "and" ("Confidentiality & Invention Assignment Agreement").
    if out == "&" {
        return "and".to_string();
    }
    out
}

/// The unaccented spelling of a lower-case Latin letter with a diacritic (`None`: keep it).
fn fold_accent(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'č' => "c",
        'ď' | 'đ' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => "e",
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => "i",
        'ł' | 'ľ' => "l",
        'ñ' | 'ń' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => "o",
        'œ' => "oe",
        'ř' => "r",
        'ß' => "ss",
        'ś' | 'š' | 'ş' => "s",
        'ť' | 'ţ' => "t",
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => "u",
        'ý' | 'ÿ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
}

/// The non-empty tokens of a text, in order.
pub fn tokens(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(token)
        .filter(|t| !t.is_empty())
        .collect()
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// Month names in the languages invoices arrive in most (French, German, Dutch, Spanish), accents
/// folded, with the month each is; abbreviations of these are not read (too many collide).
const FOREIGN_MONTHS: [(&str, u32); 40] = [
    ("janvier", 1),
    ("fevrier", 2),
    ("mars", 3),
    ("avril", 4),
    ("mai", 5),
    ("juin", 6),
    ("juillet", 7),
    ("aout", 8),
    ("septembre", 9),
    ("octobre", 10),
    ("novembre", 11),
    ("decembre", 12),
    ("januar", 1),
    ("februar", 2),
    ("marz", 3),
    ("maerz", 3),
    ("juni", 6),
    ("juli", 7),
    ("oktober", 10),
    ("dezember", 12),
    ("januari", 1),
    ("februari", 2),
    ("maart", 3),
    ("mei", 5),
    ("augustus", 8),
    ("enero", 1),
    ("febrero", 2),
    ("marzo", 3),
    ("abril", 4),
    ("mayo", 5),
    ("junio", 6),
    ("julio", 7),
    ("agosto", 8),
    ("septiembre", 9),
    ("setiembre", 9),
    ("octubre", 10),
    ("noviembre", 11),
    ("diciembre", 12),
    ("janv", 1),
    ("fevr", 2),
];

fn month_of(tok: &str) -> Option<u32> {
    let t = token(tok);
    if t.len() < 3 {
        return None;
    }
    if t == "sept" {
        return Some(9);
    }
    MONTHS
        .iter()
        .position(|m| *m == t || (t.len() == 3 && m.starts_with(&t)))
        .map(|i| i as u32 + 1)
        .or_else(|| {
            FOREIGN_MONTHS
                .iter()
                .find(|(m, _)| *m == t)
                .map(|(_, n)| *n)
        })
}

fn is_weekday(tok: &str) -> bool {
    let t = tok.to_lowercase();
    t.len() >= 3 && WEEKDAYS.iter().any(|d| *d == t || d.starts_with(&t))
}

/// "2nd" → 2, "17" → 17.
fn day_number(tok: &str) -> Option<u32> {
    let digits = tok.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &tok[digits.len()..].to_lowercase();
    // English ordinals, and the French "1er" (premier).
    let ordinal = suffix.is_empty()
        || ["st", "nd", "rd", "th"].contains(&suffix.as_str())
        || (suffix == "er" && digits == "1");
    if !ordinal {
        return None;
    }
    if digits.is_empty() || digits.len() > 2 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn year_number(tok: &str) -> Option<i32> {
    if !tok.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    match tok.len() {
        4 => tok.parse().ok(),
        // Two-digit years pivot at 70: "18" is 2018, "85" is 1985.
        2 => tok
            .parse::<i32>()
            .ok()
            .map(|y| if y < 70 { 2000 + y } else { 1900 + y }),
        _ => None,
    }
}

fn iso(y: i32, m: u32, d: u32) -> Option<String> {
    NaiveDate::from_ymd_opt(y, m, d).map(|date| date.format("%Y-%m-%d").to_string())
}

/// A date in any of the usual shapes → `YYYY-MM-DD`: `2024-01-02`, `01/02/2024`, `1/2/24`,
/// `02.01.2024`, `January 2, 2024`, `Jan. 2nd 2024`, `2 Jan 2024`, `02-Jan-24`,
/// `Tuesday, January 2, 2024`. The whole text must be the date.
pub fn date(text: &str, order: DateOrder) -> Option<String> {
    let text = text.trim();
    let toks: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect();
    // "Tuesday, the 2nd day of January, 2024": weekday and filler words carry no date.
    let toks: Vec<&str> = toks
        .into_iter()
        .filter(|t| {
            !is_weekday(t)
                && !["the", "day", "of", "de", "del"].contains(&t.to_lowercase().as_str())
        })
        .collect();
    if toks.len() != 3 {
        return None;
    }
    let numeric = |t: &str| t.chars().all(|c| c.is_ascii_digit());
    if toks.iter().all(|t| numeric(t)) {
        let (a, b, c) = (toks[0], toks[1], toks[2]);
        if a.len() == 4 {
            return iso(a.parse().ok()?, b.parse().ok()?, c.parse().ok()?);
        }
        if a.len() > 2 || b.len() > 2 {
            return None;
        }
        let year = year_number(c)?;
        let (x, y): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
        let order = if text.contains('.') {
            DateOrder::Dmy
        } else {
            order
        };
        let (month, day) = match order {
            DateOrder::Mdy if x > 12 => (y, x),
            DateOrder::Mdy => (x, y),
            DateOrder::Dmy if y > 12 => (x, y),
            DateOrder::Dmy => (y, x),
        };
        return iso(year, month, day);
    }
    let mi = toks.iter().position(|t| month_of(t).is_some())?;
    let month = month_of(toks[mi])?;
    let rest: Vec<&str> = toks
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != mi)
        .map(|(_, t)| *t)
        .collect();
    // The year is the four-digit number; otherwise the last one ("2 Jan 24").
    // ("19th" has four characters too: a year is four digits.)
    let (day_tok, year_tok) = if rest[0].len() == 4 && rest[0].chars().all(|c| c.is_ascii_digit()) {
        (rest[1], rest[0])
    } else {
        (rest[0], rest[1])
    };
    iso(year_number(year_tok)?, month, day_number(day_tok)?)
}

const CURRENCY_CODES: [&str; 12] = [
    "usd", "eur", "gbp", "inr", "chf", "cad", "aud", "jpy", "rs.", "rs", "us$", "€uro",
];

fn is_currency_symbol(c: char) -> bool {
    matches!(c, '$' | '€' | '£' | '¥' | '₹' | '₩' | '₽')
}

/// Whether the text reads as money rather than any number: a currency sign or code, or exactly
/// two decimals. Extractors prefer these, so "3" in "August 3, 2014 $4.11" is not the amount.
pub fn looks_like_money(text: &str) -> bool {
    let t = text.trim().to_lowercase();
    if t.chars().any(is_currency_symbol) || CURRENCY_CODES.iter().any(|c| t.contains(c)) {
        return amount(text).is_some();
    }
    let digits_after_sep = t.rfind(['.', ',']).map(|i| {
        t[i + 1..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .count()
    });
    digits_after_sep == Some(2) && amount(text).is_some()
}

/// An amount → a decimal string with at least two decimals and no grouping: `$1,234.50` →
/// `1234.50`, `1.234,50 €` → `1234.50`, `EUR 56,02` → `56.02`, `(12.00)` → `-12.00`,
/// `1440` → `1440.00`.
pub fn amount(text: &str) -> Option<String> {
    let mut t = text.trim().to_lowercase();
    let mut negative = false;
    if t.starts_with('(') && t.ends_with(')') {
        negative = true;
        t = t[1..t.len() - 1].trim().to_string();
    }
    // Currency codes and signs only at either end: "2014 $4.11" is two things, not an amount.
    for code in CURRENCY_CODES {
        if let Some(rest) = t.strip_prefix(code) {
            t = rest.trim_start().to_string();
        }
        if let Some(rest) = t.strip_suffix(code) {
            t = rest.trim_end().to_string();
        }
    }
    let t = t.trim_start_matches(is_currency_symbol).trim_start();
    let t = t.trim_end_matches(is_currency_symbol).trim_end();
    let mut t = t.to_string();
    if let Some(rest) = t.strip_prefix('-') {
        negative = true;
        t = rest.trim_start().to_string();
    } else if let Some(rest) = t.strip_suffix('-') {
        negative = true;
        t = rest.to_string();
    }
    if t.is_empty()
        || !t.starts_with(|c: char| c.is_ascii_digit())
        || !t.ends_with(|c: char| c.is_ascii_digit())
        || !t
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '\'' | ' '))
    {
        return None;
    }
    let (last_dot, last_comma) = (t.rfind('.'), t.rfind(','));
    let decimal_at = match (last_dot, last_comma) {
        (Some(d), Some(c)) => Some(d.max(c)),
        (None, Some(c)) => {
            // "56,02" is a decimal comma; "1,234" groups thousands.
            let after = t.len() - c - 1;
            (t.matches(',').count() == 1 && after != 3).then_some(c)
        }
        (Some(d), None) => {
            let after = t.len() - d - 1;
            // "1.234.567" groups thousands; a single dot is a decimal point.
            (t.matches('.').count() == 1 || after != 3).then_some(d)
        }
        (None, None) => None,
    };
    let (int_part, frac_part) = match decimal_at {
        Some(i) => (&t[..i], &t[i + 1..]),
        None => (t.as_str(), ""),
    };
    if !frac_part.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    // Grouping: one separator kind, groups of three after the first ("1,234,567", "1 234").
    let groups: Vec<&str> = int_part.split(['.', ',', '\'', ' ']).collect();
    let seps: std::collections::BTreeSet<char> =
        int_part.chars().filter(|c| !c.is_ascii_digit()).collect();
    if seps.len() > 1
        || groups[0].is_empty()
        || (groups.len() > 1 && (groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3)))
    {
        return None;
    }
    let int_digits: String = groups.concat();
    let int_digits = int_digits.trim_start_matches('0');
    let int_digits = if int_digits.is_empty() {
        "0"
    } else {
        int_digits
    };
    let mut frac = frac_part.to_string();
    while frac.len() < 2 {
        frac.push('0');
    }
    let sign = if negative && (int_digits != "0" || frac.chars().any(|c| c != '0')) {
        "-"
    } else {
        ""
    };
    Some(format!("{sign}{int_digits}.{frac}"))
}

/// Words that fill a form's blanks' surroundings, never a name: a "name" made only of these is a
/// label or an empty line ("Signature", "Print Name", "Date").
const FORM_WORDS: [&str; 16] = [
    "signature",
    "sign",
    "here",
    "date",
    "name",
    "print",
    "title",
    "address",
    "phone",
    "email",
    "by",
    "its",
    "na",
    "n",
    "a",
    "the",
];

/// A person's or company's name: whitespace collapsed, stray punctuation and quotes trimmed;
/// `None` without a letter, longer than `max_words`, made only of form words ("Print Name"), or
/// an unfilled template placeholder ("[Full legal name]", "{company_name}").
pub fn name(text: &str, max_words: usize) -> Option<String> {
    let t = text.trim();
    if t.starts_with(['[', '{', '<']) || t.chars().all(|c| c == '_' || c.is_whitespace()) {
        return None;
    }
    if tokens(t).iter().all(|w| FORM_WORDS.contains(&w.as_str())) {
        return None;
    }
    let words: Vec<&str> = t.split_whitespace().collect();
    if words.is_empty() || words.len() > max_words {
        return None;
    }
    let joined = words.join(" ");
    let trimmed = joined
        .trim_matches(|c: char| {
            matches!(
                c,
                ',' | ';' | ':' | '"' | '\'' | '“' | '”' | '‘' | '’' | '(' | ')' | '[' | ']' | '_'
            )
        })
        .trim();
    if !trimmed.chars().any(char::is_alphabetic) {
        return None;
    }
    Some(trimmed.to_string())
}

/// A reference number ("INV-1042", "#INV03051", "PO 2024/17" is two words and not one): one
/// word with at least one digit, leading `#`/`:` and trailing punctuation trimmed.
pub fn identifier(text: &str) -> Option<String> {
    let t = text
        .trim()
        .trim_start_matches(['#', ':', '№'])
        .trim_end_matches(['.', ',', ';', ':', ')']);
    // A number sign written into the word: "n°562044387", "No.4471", "Nr.88" (French, English,
    // German and Dutch abbreviations of "number").
    let t = ["n°", "nº", "no.", "nr.", "n.", "no:", "nr:"]
        .iter()
        .find_map(|p| {
            t.get(..p.len())
                .filter(|head| head.eq_ignore_ascii_case(p))
                .map(|_| &t[p.len()..])
                .filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .unwrap_or(t);
    // A date next to a number label is the date, not the number.
    if date(t, DateOrder::Mdy).is_some() {
        return None;
    }
    if t.len() < 2
        || t.len() > 40
        || !t.chars().any(|c| c.is_ascii_digit())
        || !t
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '/' | '_' | '.'))
    {
        return None;
    }
    Some(t.to_string())
}

/// An e-mail address, lower-cased.
pub fn email(text: &str) -> Option<String> {
    let t = text
        .trim()
        .trim_matches(|c: char| matches!(c, '<' | '>' | ',' | ';' | '(' | ')'));
    let (local, domain) = t.split_once('@')?;
    let ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'))
    };
    (ok(local) && ok(domain) && domain.contains('.') && !domain.ends_with('.'))
        .then(|| t.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each input read as a month-first date gives the expected ISO date ("" = no date).
    fn assert_dates(cases: &[(&str, &str)]) {
        for &(input, want) in cases {
            let got = date(input, DateOrder::Mdy);
            if want.is_empty() {
                assert_eq!(got, None, "{input}");
            } else {
                assert_eq!(got.as_deref(), Some(want), "{input}");
            }
        }
    }

    #[test]
    fn dates_in_many_shapes_become_iso() {
        let cases = [
            ("01/02/2024", "2024-01-02"),
            ("1/2/24", "2024-01-02"),
            ("10/18/18", "2018-10-18"),
            ("18/10/2018", "2018-10-18"),
            ("2024-01-02", "2024-01-02"),
            ("2024/01/02", "2024-01-02"),
            ("01.05.2014", "2014-05-01"),
            ("January 2, 2024", "2024-01-02"),
            ("August 3 , 2014", "2014-08-03"),
            ("Jan. 2nd 2024", "2024-01-02"),
            ("2 Jan 2024", "2024-01-02"),
            ("2nd of January", ""),
            ("the 2nd day of January, 2024", "2024-01-02"),
            // Regression: a two-digit ordinal ("19th") was taken for a four-digit year.
            ("19th day of October, 2023", "2023-10-19"),
            ("the 15th of June 2025", "2025-06-15"),
            ("02-Jan-24", "2024-01-02"),
            ("Tuesday, January 2, 2024", "2024-01-02"),
            ("Sept 30, 2023", "2023-09-30"),
        ];
        assert_dates(&cases);
    }

    #[test]
    fn date_order_decides_ambiguous_numeric_dates() {
        assert_eq!(date("01/02/2024", DateOrder::Dmy).unwrap(), "2024-02-01");
        assert_eq!(date("13/02/2024", DateOrder::Mdy).unwrap(), "2024-02-13");
    }

    #[test]
    fn not_dates() {
        for s in [
            "ON August 3",
            "31/31/2024",
            "2024",
            "Invoice 12/2024",
            "February 30, 2024",
        ] {
            assert_eq!(date(s, DateOrder::Mdy), None, "{s}");
        }
    }

    #[test]
    fn amounts_become_plain_decimals() {
        let cases = [
            ("$1,234.50", "1234.50"),
            ("1.234,50 €", "1234.50"),
            ("EUR 56,02", "56.02"),
            ("1440", "1440.00"),
            ("$4.11", "4.11"),
            ("(12.00)", "-12.00"),
            ("USD 1,000,000", "1000000.00"),
            ("0.005", "0.005"),
            ("₹ 319.0", "319.00"),
            ("1 234,50", "1234.50"),
            ("$ 1,234.50", "1234.50"),
            ("1'234.50 CHF", "1234.50"),
        ];
        for (input, want) in cases {
            assert_eq!(amount(input).as_deref(), Some(want), "{input}");
        }
        for s in [
            "TAX",
            "1.2.3,4,5",
            "$",
            "12a",
            "-",
            "2014 $4.11",
            "320 14",
            "12,34,567.00",
        ] {
            assert_eq!(amount(s), None, "{s}");
        }
    }

    #[test]
    fn money_needs_a_currency_or_cents() {
        assert!(looks_like_money("$4"));
        assert!(looks_like_money("1,234.50"));
        assert!(!looks_like_money("3"));
        assert!(!looks_like_money("2014"));
    }

    #[test]
    fn names_and_identifiers_are_trimmed() {
        assert_eq!(
            name("  Acme   Widgets, Inc. ,", 8).unwrap(),
            "Acme Widgets, Inc."
        );
        assert_eq!(name("“Beta LLC”", 8).unwrap(), "Beta LLC");
        assert_eq!(name("1234", 8), None);
        assert_eq!(name("Signature", 8), None);
        assert_eq!(name("Print Name:", 8), None);
        assert_eq!(name("[Full legal name of the employee]", 8), None);
        assert_eq!(name("{party_1_company_display}", 8), None);
        assert_eq!(identifier("#INV03051").unwrap(), "INV03051");
        assert_eq!(identifier("INV/2023/03/0008").unwrap(), "INV/2023/03/0008");
        assert_eq!(identifier("Number"), None);
        assert_eq!(identifier("01/05/2024"), None);
        assert_eq!(email("<Ann@Example.com>").unwrap(), "ann@example.com");
        assert_eq!(email("ann@"), None);
    }

    #[test]
    fn tokens_drop_punctuation() {
        assert_eq!(tokens("Invoice Number: #42"), ["invoice", "number", "#42"]);
    }

    #[test]
    fn tokens_fold_accents() {
        // Regression: "Numéro de facture" never matched the policy's "numero de facture", and
        // an OCR that dropped an accent missed a phrase written with it.
        assert_eq!(tokens("Numéro de FACTURE"), ["numero", "de", "facture"]);
        assert_eq!(tokens("Échéance Größe"), ["echeance", "grosse"]);
        assert_eq!(tokens("Net à payer"), tokens("Net a payer"));
        // "&" as a word is "and"; inside a word it stays.
        assert_eq!(
            tokens("Smith & Wesson AT&T"),
            ["smith", "and", "wesson", "at&t"]
        );
    }

    #[test]
    fn dates_with_french_german_dutch_and_spanish_months() {
        let cases = [
            ("05 Juillet 2015", "2015-07-05"),
            ("1er février 2024", "2024-02-01"),
            ("12 décembre 2023", "2023-12-12"),
            ("3. März 2024", "2024-03-03"),
            ("12 november 2015", "2015-11-12"),
            ("29 oktober 2015", "2015-10-29"),
            ("22 de septiembre de 2022", "2022-09-22"),
        ];
        assert_dates(&cases);
    }

    #[test]
    fn a_number_sign_written_into_an_identifier_is_dropped() {
        // Regression: "Facture n°562044387" gave no invoice number ("°" is not part of one).
        assert_eq!(identifier("n°562044387").unwrap(), "562044387");
        assert_eq!(identifier("No.4471").unwrap(), "4471");
        assert_eq!(identifier("Nr.88-A").unwrap(), "88-A");
        // A word that merely starts like that is kept whole.
        assert_eq!(identifier("NO12345").unwrap(), "NO12345");
        assert_eq!(identifier("N5-17").unwrap(), "N5-17");
    }
}
