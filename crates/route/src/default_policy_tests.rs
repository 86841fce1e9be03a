//! The embedded default policy on documents shaped like real ones the corpus evaluation
//! (`countersign eval route`) found it weak on: US tax and payroll forms, employment documents,
//! letter-style and foreign-language invoices, receipts. Each test states what an operator sees
//! (type, decision, fields) and failed before the change it guards.

use crate::decide::route;
use crate::layout::testing::page;
use crate::policy::{Policy, UNCLASSIFIED};
use countersign_core::{DecisionAction, OcrPage};

fn policy() -> Policy {
    Policy::embedded_default()
}

fn field(out: &crate::RouteOutcome, name: &str) -> Option<String> {
    out.fields.get(name).map(|f| f.value.clone())
}

fn assert_auto_routed(out: &crate::RouteOutcome) {
    assert_eq!(
        out.decision.action,
        DecisionAction::AutoRoute,
        "{:?}",
        out.decision
    );
}
#[test]
fn a_w2_wage_statement_is_an_hr_form_with_the_employee_named() {
    // A W-2 has no title at the top, box keys before its labels ("e Employee's name, …") and
    // the value below the label.
    let w2 = page(0)
        .line(
            60,
            &[(
                100,
                "Copy 2 -- To Be Filed with Employee's State, City, or Local Income Tax Return",
            )],
        )
        .line(
            120,
            &[
                (100, "a Employee's social security number"),
                (900, "1 Wages, tips, other compensation"),
            ],
        )
        .line(150, &[(100, "123-45-6789"), (900, "37160.56")])
        .line(
            200,
            &[
                (100, "b Employer identification number (EIN)"),
                (900, "3 Social security wages"),
            ],
        )
        .line(230, &[(100, "98-7654321"), (900, "37160.56")])
        .line(300, &[(100, "c Employer's name, address, and ZIP code")])
        .line(330, &[(100, "CONTOSO LTD")])
        .line(500, &[(100, "e Employee's name, address, and ZIP code")])
        .line(530, &[(100, "ANGEL BROWN")])
        .line(560, &[(100, "4567 MAIN STREET")])
        .line(2000, &[(100, "Form W-2 Wage and Tax Statement 2018")])
        .build();
    let out = route(&policy(), &[w2], None);
    assert_eq!(out.document_type, "hr_form", "{:?}", out.rule_matches);
    assert_eq!(field(&out, "employee_name").as_deref(), Some("ANGEL BROWN"));
    assert_auto_routed(&out);
    assert_eq!(out.route.as_deref(), Some("hr"));
}

#[test]
fn a_box_key_does_not_make_a_label_part_of_a_sentence() {
    // The same label inside running text still has no value below it.
    let prose = page(0)
        .line(
            100,
            &[(
                100,
                "Write the Employee's name, address, and ZIP code below.",
            )],
        )
        .line(130, &[(100, "ANGEL BROWN")])
        .build();
    let out = crate::extract::extract_field(&policy(), "employee_name", &[prose]);
    assert_eq!(out, None);
}

#[test]
fn w9_and_employment_documents_are_hr_forms() {
    let cases: [(&str, &[&str]); 4] = [
        (
            "Form W-9 Request for Taxpayer Identification Number and Certification",
            &[
                "Enter your taxpayer identification number in the appropriate box.",
                "backup withholding",
            ],
        ),
        (
            "Employee Restrictive Covenant Agreement",
            &[
                "Employee Non-Solicitation Duration 24 months",
                "Non-Competition Duration 12 months",
            ],
        ),
        (
            "Employment Offer Letter",
            &[
                "Employment Type [Employment basis]",
                "Reporting Manager [Manager]",
                "Base Salary [Base salary]",
            ],
        ),
        (
            "HEALTH INTAKE FORM",
            &["Emergency Contact: Jo Doe", "Marital Status: single"],
        ),
    ];
    for (title, lines) in cases {
        let mut b = page(0).line(100, &[(300, title)]);
        for (i, l) in lines.iter().enumerate() {
            b = b.line(600 + 40 * i as u32, &[(100, l)]);
        }
        let out = route(&policy(), &[b.build()], None);
        assert_eq!(
            out.document_type, "hr_form",
            "{title}: {:?}",
            out.rule_matches
        );
    }
}

#[test]
fn an_employment_application_names_the_applicant_before_the_next_label() {
    // OCR ran "Full Name" together and the date label follows on the same row.
    let form = page(0)
        .line(60, &[(100, "Contoso Corp")])
        .line(100, &[(100, "Employment Application")])
        .line(200, &[(100, "FullName: Raymond Amy Date: 02/04/2022")])
        .line(300, &[(100, "Position Applied for: Software Engineer")])
        .line(340, &[(100, "Desired Salary: $100,000.00")])
        .build();
    let out = route(&policy(), &[form], None);
    assert_eq!(out.document_type, "hr_form");
    assert_eq!(field(&out, "employee_name").as_deref(), Some("Raymond Amy"));
    assert_auto_routed(&out);
}

#[test]
fn a_label_followed_by_a_two_word_label_names_nobody() {
    // "Vendor: Ship To:" — the row goes on with a label, and the one word before it is that
    // label's first word, not a vendor.
    let po = page(0)
        .line(100, &[(100, "PURCHASE ORDER")])
        .line(200, &[(100, "Vendor: Ship To:")])
        .line(240, &[(100, "Northwind Traders")])
        .build();
    let out = crate::extract::extract_field(&policy(), "vendor_name", &[po]);
    assert_ne!(out.map(|f| f.value).as_deref(), Some("Ship"));
}

fn french_letter_invoice() -> OcrPage {
    page(0)
        .line(60, &[(100, "free")])
        .line(100, &[(100, "Free Service Abonné")])
        .line(140, &[(100, "75371 Paris Cedex 08")])
        .line(300, &[(900, "de Lattre Alexis")])
        .line(340, &[(900, "35 RUE du logiciel libre")])
        .line(700, &[(100, "Facture n°562044387 du 02 Juillet 2015")])
        .line(
            760,
            &[(
                100,
                "Date limite de paiement le 05 Juillet 2015 29.99 € TTC",
            )],
        )
        .line(
            800,
            &[
                (100, "Montant EUR HT"),
                (600, "Montant TVA"),
                (900, "Montant EUR TTC"),
            ],
        )
        .line(
            840,
            &[
                (100, "Total facture"),
                (400, "24.99"),
                (600, "5.00"),
                (900, "29.99"),
            ],
        )
        .line(900, &[(100, "Somme à payer 29.99 €")])
        .build()
}

#[test]
fn a_french_letter_invoice_is_read_with_its_number_total_and_due_date() {
    let out = route(&policy(), &[french_letter_invoice()], None);
    assert_eq!(out.document_type, "invoice", "{:?}", out.rule_matches);
    assert_eq!(field(&out, "invoice_number").as_deref(), Some("562044387"));
    assert_eq!(field(&out, "total_amount").as_deref(), Some("29.99"));
    assert_eq!(field(&out, "due_date").as_deref(), Some("2015-07-05"));
    assert_auto_routed(&out);
}

#[test]
fn a_spanish_invoice_number_under_a_bare_numero_label() {
    let doc = page(0)
        .line(60, &[(100, "CONTOSO LTD.")])
        .line(700, &[(100, "NUMERO: ABC12345")])
        .line(740, &[(100, "FECHA DE VENCIMIENTO : 01/12/2021")])
        .line(800, &[(100, "FACTURA")])
        .line(1200, &[(100, "SUBTOTAL 100,00€")])
        .line(1240, &[(100, "TOTAL A PAGAR 110,00€")])
        .build();
    let out = route(&policy(), &[doc], None);
    assert_eq!(out.document_type, "invoice", "{:?}", out.rule_matches);
    assert_eq!(field(&out, "invoice_number").as_deref(), Some("ABC12345"));
    assert_eq!(field(&out, "total_amount").as_deref(), Some("110.00"));
}

#[test]
fn a_number_alone_under_the_invoice_heading_is_the_invoice_number() {
    let doc = page(0)
        // The stylised INVOICE heading is unreadable to OCR: no "Invoice" label to read below.
        .line(60, &[(100, "Sammy Maystone"), (1300, "N VV | E")])
        .line(110, &[(1300, "# invoice_number_1")])
        .line(200, &[(100, "Bill To:"), (900, "Due Date: Jan 31, 2022")])
        .line(240, &[(900, "Balance Due: $127.50")])
        .build();
    let out = route(&policy(), &[doc], None);
    assert_eq!(out.document_type, "invoice");
    assert_eq!(
        field(&out, "invoice_number").as_deref(),
        Some("invoice_number_1")
    );
}

#[test]
fn receipts_are_not_invoices() {
    let lines = |receipt: bool| {
        let mut b = page(0).line(60, &[(100, "Contoso")]);
        if receipt {
            b = b
                .line(200, &[(100, "Receipt Number 334567")])
                .line(240, &[(100, "Receipt Date 01/08/2024")]);
        }
        b.line(300, &[(100, "Bill To")])
            .line(340, &[(100, "Benson Miller")])
            .line(600, &[(100, "Subtotal $710.00")])
            .line(640, &[(100, "Balance Due $0.00")])
            .build()
    };
    // The same page without the receipt's own words is (weakly) an invoice …
    assert_eq!(
        route(&policy(), &[lines(false)], None).document_type,
        "invoice"
    );
    // … with them it is a receipt: proof of a payment, not a request for one.
    let out = route(&policy(), &[lines(true)], None);
    assert_eq!(out.document_type, UNCLASSIFIED, "{:?}", out.rule_matches);
    assert_ne!(out.decision.action, DecisionAction::AutoRoute);
    let payment = page(0)
        .line(60, &[(300, "PAYMENT RECEIPT")])
        .line(300, &[(100, "Grand Total Rs 1939")])
        .line(340, &[(100, "Balance Due Rs 0")])
        .build();
    assert_eq!(
        route(&policy(), &[payment], None).document_type,
        UNCLASSIFIED
    );
}

#[test]
fn sales_vocabulary_makes_a_statement_a_weak_invoice() {
    let doc = page(0)
        .line(60, &[(100, "Contoso. Ltd. Project Statement")])
        .line(200, &[(100, "Sold To Wingtip Toys")])
        .line(600, &[(100, "Subtotal $10,375")])
        .line(640, &[(100, "Sales Tax 3%")])
        .line(680, &[(100, "Total $10,686.25")])
        .build();
    let out = route(&policy(), &[doc], None);
    assert_eq!(out.document_type, "invoice", "{:?}", out.rule_matches);
    assert_eq!(out.decision.action, DecisionAction::Review);
}

#[test]
fn a_confidentiality_and_invention_assignment_agreement_is_an_nda() {
    let doc = page(0)
        .line(100, &[(300, "Confidentiality & Invention Assignment Agreement (CIIAA)")])
        .line(600, &[(100, "\"Confidential Information\" means non-public information, including trade secrets,")])
        .line(640, &[(100, "that Employee learns during employment.")])
        .build();
    let out = route(&policy(), &[doc], None);
    assert_eq!(out.document_type, "nda", "{:?}", out.rule_matches);
    // By its title, not only by two phrases an employment document has as well.
    assert!(
        out.rule_matches
            .iter()
            .any(|m| m.document_type == "nda" && m.clear),
        "{:?}",
        out.rule_matches
    );
}

#[test]
fn an_independent_contractor_agreement_after_a_page_of_instructions_is_an_hr_form() {
    // The first page of a template is help text; the title is a heading further down.
    let doc = page(0)
        .line(100, &[(100, "Interpreting help text")])
        .line(
            200,
            &[(
                100,
                "[Yellow highlighted text in brackets] indicates a field you can fill in.",
            )],
        )
        .line(900, &[(100, "How to set up an agreement")])
        .line(
            1000,
            &[(100, "Send to your counterparty for review and signature.")],
        )
        .line(1400, &[(100, "Independent Contractor Agreement")])
        .line(1440, &[(100, "Contractor")])
        .line(1480, &[(100, "{contractor_name_and_address}")])
        .line(
            1800,
            &[(
                100,
                "Nothing in this Agreement makes the independent contractor an employee.",
            )],
        )
        .build();
    let out = route(&policy(), &[doc], None);
    assert_eq!(out.document_type, "hr_form", "{:?}", out.rule_matches);
    // A template: nobody is named, so it is reviewed.
    assert_eq!(out.decision.action, DecisionAction::Review);
}

#[test]
fn the_second_party_is_the_capitalised_name_after_and() {
    // Regression: "a corporation organized and existing under the laws …" (inside the first
    // party's description) was taken for the second party, rejected as a name, and the real
    // one never found.
    let doc = page(0)
        .line(100, &[(300, "WORLDWIDE LICENSE AND DISTRIBUTION AGREEMENT")])
        .line(200, &[(100, "This License Agreement (the \"Agreement\") is made on August 6, 2015 (the \"Effective")])
        .line(230, &[(100, "Date\") by and between Cymbal Inc. (the \"Licensor\"), a corporation organized")])
        .line(260, &[(100, "and existing under the laws of Canada, located at 6 Cray Crescent, and B-Cafetal,")])
        .line(290, &[(100, "Inc. (the \"Licensee\"), a corporation organized under the laws of Nevada.")])
        .line(400, &[(100, "Governing law. Limitation of liability. Term and termination.")])
        .build();
    let out = route(&policy(), &[doc], None);
    assert_eq!(
        out.document_type, "vendor_agreement",
        "{:?}",
        out.rule_matches
    );
    assert_eq!(
        field(&out, "counterparty_name").as_deref(),
        Some("B-Cafetal")
    );
    assert_eq!(field(&out, "effective_date").as_deref(), Some("2015-08-06"));
    assert_auto_routed(&out);

    // A sentence after "and" is not a party either.
    let terms = page(0)
        .line(100, &[(100, "Uses. An Affiliate's Order Form creates a separate agreement between Provider and that")])
        .line(130, &[(100, "Affiliate, separate from Customer and Customer is not responsible for its Affiliates' agreement.")])
        .build();
    let f = crate::extract::extract_field(&policy(), "counterparty_name", &[terms]);
    assert_eq!(f, None);
}
