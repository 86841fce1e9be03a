use crate::support::*;
use countersign_sandbox::Config;
use countersign_sign::docusign::DocuSign;
use countersign_sign::{Provider, SecretString};
use std::sync::{Arc, Mutex};

/// Collects every formatted log line.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

// Current-thread runtime: the sandbox's tasks run on this thread, under the capturing subscriber.
#[tokio::test(flavor = "current_thread")]
async fn the_token_appears_in_no_log_line_and_no_debug_output() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(capture.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let s = sandbox(Config {
        token: Some(SecretString::from(TOKEN)),
        ..Config::default()
    })
    .await;
    let config = adapter_config(&s.base_url, &s.account_id);
    let debug_config = format!("{config:?}");
    let a = DocuSign::new(config).unwrap();
    let req = request(simple_pdf(), "logged");
    let id = a.create_envelope(&req).await.unwrap();
    a.envelope_status(&id).await.unwrap();
    a.find_by_idempotency_key(&req.idempotency_key)
        .await
        .unwrap();
    a.void(&id, "test").await.unwrap();
    let err = a.void(&id, "again").await.unwrap_err();
    // A refused token goes through the error path too.
    let mut wrong = adapter_config(&s.base_url, &s.account_id);
    wrong.token = SecretString::from(format!("{TOKEN}-but-wrong"));
    let wrong = DocuSign::new(wrong).unwrap();
    let unauthorized = wrong.envelope_status(&id).await.unwrap_err();

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("provider answered"),
        "the adapter logged its calls:\n{logs}"
    );
    assert!(logs.contains("provider refused"), "and its errors:\n{logs}");
    assert!(logs.contains(id.as_str()), "with the envelope id:\n{logs}");
    for (what, text) in [
        ("logs", logs.as_str()),
        ("config Debug", debug_config.as_str()),
        ("adapter Debug", &format!("{a:?}")),
        ("request Debug", &format!("{req:?}")),
        ("error", &format!("{err} {err:?}")),
        ("401 error", &format!("{unauthorized} {unauthorized:?}")),
    ] {
        assert!(!text.contains(TOKEN), "the token leaked into the {what}");
    }
    assert_eq!(unauthorized.code(), "provider_unauthorized");
}
