//! The signing page: `GET /sign/{envelopeId}/{recipientId}` shows the documents as they stand
//! (pages rendered by PDFium) with Sign and Decline buttons (plain POST forms: no script, no
//! external asset). Opening the page when it is the recipient's turn marks them `delivered`;
//! a recipient whose turn has not come sees who they are waiting for. `GET /` lists every
//! envelope with links to its signing pages.

use crate::db;
use crate::envelopes::{self, OpError};
use crate::App;
use axum::extract::{Form, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use std::fmt::Write;
use std::sync::Arc;

/// Width of the page images on the signing page.
const PAGE_WIDTH_PX: u32 = 820;

pub(crate) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(index))
        .route("/sign/{envelope_id}/{recipient_id}", get(page))
        .route("/sign/{envelope_id}/{recipient_id}/sign", post(sign))
        .route("/sign/{envelope_id}/{recipient_id}/decline", post(decline))
        .route(
            "/sign/{envelope_id}/{recipient_id}/documents/{document_id}/pages/{page}",
            get(page_image),
        )
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:880px;margin:1.5rem auto;padding:0 1rem;color:#1d2433}\
.banner{background:#fff4d6;border:1px solid #e8c66a;padding:.4rem .7rem;border-radius:4px;font-size:.9rem}\
.status{font-weight:600}.actions{display:flex;gap:1rem;align-items:center;margin:1rem 0}\
button{font-size:1rem;padding:.45rem 1.2rem;border-radius:4px;border:1px solid #3050a0;background:#3050a0;color:#fff;cursor:pointer}\
button.decline{background:#fff;color:#a02828;border-color:#a02828}button:disabled{opacity:.45;cursor:default}\
img.page{display:block;width:100%;border:1px solid #c8ccd6;margin:0 0 1rem;box-shadow:0 1px 3px #0002}\
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #dde;padding:.3rem;text-align:left;font-size:.9rem}\
.note{color:#555;font-size:.9rem}";

fn html_page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
<title>{}</title><style>{STYLE}</style></head><body>\
<p class=\"banner\">Countersign sandbox: a local test provider. Nothing signed here is legally binding.</p>{body}</body></html>",
        escape(title)
    ))
}

/// HTML-escapes text for element content and quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Path segments go back into links: keep them to characters that need no encoding.
fn segment(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect()
}

fn error_page(status: StatusCode, message: &str) -> Response {
    (
        status,
        html_page(
            "Countersign sandbox",
            &format!("<h1>{}</h1>", escape(message)),
        ),
    )
        .into_response()
}

fn op_error(e: OpError) -> Response {
    match e {
        OpError::EnvelopeNotFound | OpError::RecipientNotFound => {
            error_page(StatusCode::NOT_FOUND, &e.to_string())
        }
        OpError::InvalidState(m) | OpError::NotYourTurn(m) => error_page(StatusCode::CONFLICT, &m),
        OpError::Internal(m) => {
            tracing::error!(error = %m, "signing page");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error: see the sandbox log",
            )
        }
    }
}

async fn index(State(app): State<Arc<App>>) -> Response {
    let rows = match db::all_with_key(&app.pool, countersign_sign::IDEMPOTENCY_FIELD).await {
        Ok(r) => r,
        Err(e) => return op_error(e.into()),
    };
    let mut body = format!(
        "<h1>Envelopes</h1><p class=\"note\">DocuSign adapter settings: base URL <code>{}</code>, account id <code>{}</code>, any non-empty token{}.</p>",
        escape(&app.public_url),
        escape(&app.config.account_id),
        if app.config.token.is_some() { " (this sandbox wants a fixed one)" } else { "" },
    );
    if rows.is_empty() {
        body.push_str("<p class=\"note\">No envelope yet.</p>");
    } else {
        body.push_str(
            "<table><tr><th>Subject</th><th>Status</th><th>Created</th><th>Recipients</th></tr>",
        );
        for (env, _) in rows.iter().rev() {
            let recipients = db::recipients(&app.pool, &env.envelope_id)
                .await
                .unwrap_or_default();
            let links: Vec<String> = recipients
                .iter()
                .map(|r| {
                    format!(
                        "<a href=\"/sign/{}/{}\">{}</a> ({})",
                        segment(&env.envelope_id),
                        segment(&r.recipient_id),
                        escape(&r.name),
                        escape(&r.status)
                    )
                })
                .collect();
            let _ = write!(
                body,
                "<tr><td>{}</td><td class=\"status\">{}</td><td>{}</td><td>{}</td></tr>",
                escape(&env.email_subject),
                escape(&env.status),
                escape(&env.created_at),
                links.join("<br>")
            );
        }
        body.push_str("</table>");
    }
    html_page("Countersign sandbox", &body).into_response()
}

async fn page(
    State(app): State<Arc<App>>,
    Path((envelope_id, recipient_id)): Path<(String, String)>,
) -> Response {
    if let Err(e) = envelopes::open(&app, &envelope_id, &recipient_id).await {
        return op_error(e);
    }
    let (env, recipients, documents) = match (
        db::envelope(&app.pool, &envelope_id).await,
        db::recipients(&app.pool, &envelope_id).await,
        db::document_meta(&app.pool, &envelope_id).await,
    ) {
        (Ok(Some(e)), Ok(r), Ok(d)) => (e, r, d),
        (Ok(None), _, _) => return op_error(OpError::EnvelopeNotFound),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return op_error(e.into()),
    };
    let Some(me) = recipients.iter().find(|r| r.recipient_id == recipient_id) else {
        return op_error(OpError::RecipientNotFound);
    };
    let order = envelopes::current_order(&recipients);
    let open = matches!(env.status.as_str(), "sent" | "delivered");
    let my_turn = open
        && me.is_signer()
        && Some(me.routing_order) == order
        && matches!(me.status.as_str(), "sent" | "delivered");
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>{}</h1><p>{}</p><p>For <strong>{}</strong> &lt;{}&gt;, {} (routing order {}): <span class=\"status\">{}</span>. Envelope: <span class=\"status\">{}</span>.</p>",
        escape(&env.email_subject),
        escape(env.email_blurb.as_deref().unwrap_or("")),
        escape(&me.name),
        escape(&me.email),
        if me.is_signer() { "signer" } else { "carbon copy" },
        me.routing_order,
        escape(&me.status),
        escape(&env.status),
    );
    if open && me.is_signer() && !my_turn && me.status == "created" {
        let waiting: Vec<String> = recipients
            .iter()
            .filter(|o| o.is_signer() && o.status != "completed" && Some(o.routing_order) == order)
            .map(|o| escape(&o.name))
            .collect();
        let _ = write!(
            body,
            "<p class=\"note\">Waiting for {} to sign first.</p>",
            waiting.join(", ")
        );
    }
    if me.is_signer() {
        let disabled = if my_turn { "" } else { " disabled" };
        let (e, r) = (segment(&envelope_id), segment(&recipient_id));
        let _ = write!(
            body,
            "<div class=\"actions\"><form method=\"post\" action=\"/sign/{e}/{r}/sign\"><button type=\"submit\"{disabled}>Sign</button></form>\
<form method=\"post\" action=\"/sign/{e}/{r}/decline\"><input name=\"reason\" placeholder=\"Reason for declining\"{disabled}> \
<button class=\"decline\" type=\"submit\"{disabled}>Decline</button></form></div>"
        );
    }
    for d in &documents {
        let _ = write!(body, "<h2>{}</h2>", escape(&d.name));
        for p in 1..=d.page_count {
            let _ = write!(
                body,
                "<img class=\"page\" alt=\"{} page {p}\" src=\"/sign/{}/{}/documents/{}/pages/{p}\">",
                escape(&d.name),
                segment(&envelope_id),
                segment(&recipient_id),
                segment(&d.document_id),
            );
        }
    }
    html_page(&env.email_subject, &body).into_response()
}

async fn page_image(
    State(app): State<Arc<App>>,
    Path((envelope_id, recipient_id, document_id, page)): Path<(String, String, String, u32)>,
) -> Response {
    let recipients = match db::recipients(&app.pool, &envelope_id).await {
        Ok(r) => r,
        Err(e) => return op_error(e.into()),
    };
    if !recipients.iter().any(|r| r.recipient_id == recipient_id) {
        return op_error(OpError::RecipientNotFound);
    }
    let documents = match db::current_documents(&app.pool, &envelope_id).await {
        Ok(d) => d,
        Err(e) => return op_error(e.into()),
    };
    let Some(doc) = documents.into_iter().find(|d| d.document_id == document_id) else {
        return error_page(StatusCode::NOT_FOUND, "no such document");
    };
    let rendered = tokio::task::spawn_blocking(move || {
        crate::pdf::render_page_png(&doc.bytes, page, PAGE_WIDTH_PX)
    })
    .await;
    match rendered {
        Ok(Ok(png)) => (
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            png,
        )
            .into_response(),
        Ok(Err(crate::pdf::PdfError::NoSuchPage(p))) => error_page(
            StatusCode::NOT_FOUND,
            &format!("page {p} is not in the document"),
        ),
        Ok(Err(e)) => op_error(OpError::Internal(e.to_string())),
        Err(e) => op_error(OpError::Internal(e.to_string())),
    }
}

async fn sign(
    State(app): State<Arc<App>>,
    Path((envelope_id, recipient_id)): Path<(String, String)>,
) -> Response {
    match envelopes::sign(&app, &envelope_id, &recipient_id).await {
        Ok(()) => back_to(&envelope_id, &recipient_id),
        Err(e) => op_error(e),
    }
}

#[derive(serde::Deserialize)]
struct DeclineForm {
    #[serde(default)]
    reason: String,
}

async fn decline(
    State(app): State<Arc<App>>,
    Path((envelope_id, recipient_id)): Path<(String, String)>,
    form: Result<Form<DeclineForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let reason = form.map(|f| f.0.reason).unwrap_or_default();
    match envelopes::decline(&app, &envelope_id, &recipient_id, &reason).await {
        Ok(()) => back_to(&envelope_id, &recipient_id),
        Err(e) => op_error(e),
    }
}

fn back_to(envelope_id: &str, recipient_id: &str) -> Response {
    Redirect::to(&format!(
        "/sign/{}/{}",
        segment(envelope_id),
        segment(recipient_id)
    ))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_neutralises_markup() {
        assert_eq!(
            escape("<script>\"x\" & 'y'</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
        assert_eq!(segment("abc-12/../x"), "abc-12..x");
    }
}
