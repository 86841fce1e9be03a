//! Conformance with DocuSign's own OpenAPI spec (`esignature.rest.swagger-v2.1.2022-02-10.json`,
//! found in `../shared/specs/docusign/` beside the repository, or at `COUNTERSIGN_DOCUSIGN_SPEC`).
//!
//! 1. Statically: every field our wire types can write is a property of the spec's definition for
//!    that type, typed `string` where we write a string.
//! 2. Through Prism (`@stoplight/prism-cli`, pinned in `tests/conformance/package.json`): Prism,
//!    in proxy mode with `--errors`, sits between the adapter and the sandbox and validates every
//!    request against the spec (a violation answers 422) and every answer (a violation answers
//!    500); the test fails on either, and on any error-level violation in Prism's log.
//!
//! Prism dereferences the whole spec before listening: the 4 MB file takes it more than two
//! minutes (and it stops on the spec's one dangling reference, `#/definitions/offlineAttributes`).
//! So the test hands Prism a derived spec: the operations the adapter calls, verbatim but for a
//! `/restapi` prefix on their paths (Prism ignores `basePath` when matching) and without their
//! empty `consumes`/`produces` lists (the spec gives every operation `"consumes": []`, which in
//! Swagger 2 overrides the global `application/json`, so Prism would refuse every JSON body);
//! each definition narrowed to the properties our wire types can write (the vocabulary from 1.);
//! and only the definitions still referenced. Narrowing drops only properties neither side ever
//! writes, so what is sent is validated as against the full spec; Prism then starts in about a
//! second.
//!
//! Prism must be installed: `npm ci --prefix crates/sign/tests/conformance` (bootstrap does it).

use crate::support::*;
use countersign_sandbox::Config;
use countersign_sign::docusign::{wire, DocuSign};
use countersign_sign::{EnvelopeState, Provider, ProviderError};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn spec_path() -> PathBuf {
    if let Some(p) = std::env::var_os("COUNTERSIGN_DOCUSIGN_SPEC") {
        return p.into();
    }
    const SPEC: &str = "specs/docusign/esignature.rest.swagger-v2.1.2022-02-10.json";
    // ../shared beside the repository, else the workplace's copy (a clone elsewhere, e.g. CI's).
    [
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
        PathBuf::from("/work/shared"),
    ]
    .into_iter()
    .map(|dir| dir.join(SPEC))
    .find(|p| p.is_file())
    .unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared")
            .join(SPEC)
    })
}

fn spec() -> Value {
    let path = spec_path();
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "DocuSign's OpenAPI spec is not at {} ({e}); set COUNTERSIGN_DOCUSIGN_SPEC to it",
            path.display()
        )
    });
    serde_json::from_slice(&bytes).expect("the spec is JSON")
}

fn s() -> Option<String> {
    Some("x".into())
}

/// Every wire type with every field set, paired with the spec definitions it must conform to.
fn maximal_wire_values() -> Vec<(&'static [&'static str], Value)> {
    fn v<T: Serialize>(t: T) -> Value {
        serde_json::to_value(t).unwrap()
    }
    let tab = wire::Tab {
        anchor_string: s(),
        anchor_x_offset: s(),
        anchor_y_offset: s(),
        anchor_units: s(),
        anchor_ignore_if_not_present: s(),
        anchor_case_sensitive: s(),
        anchor_match_whole_word: s(),
        document_id: s(),
        page_number: s(),
        x_position: s(),
        y_position: s(),
        recipient_id: s(),
        tab_label: s(),
    };
    let tabs = wire::Tabs {
        sign_here_tabs: Some(vec![]),
        date_signed_tabs: Some(vec![]),
    };
    let signer = wire::Signer {
        email: s(),
        name: s(),
        recipient_id: s(),
        routing_order: s(),
        role_name: s(),
        tabs: Some(wire::Tabs::default()),
        status: s(),
        sent_date_time: s(),
        delivered_date_time: s(),
        signed_date_time: s(),
        declined_date_time: s(),
        declined_reason: s(),
    };
    let cc = wire::CarbonCopy {
        email: s(),
        name: s(),
        recipient_id: s(),
        routing_order: s(),
        role_name: s(),
        status: s(),
    };
    let recipients = wire::Recipients {
        signers: Some(vec![]),
        carbon_copies: Some(vec![]),
        recipient_count: s(),
        current_routing_order: s(),
    };
    let field = wire::TextCustomField {
        field_id: s(),
        name: s(),
        value: s(),
        show: s(),
        required: s(),
    };
    let fields = wire::CustomFields {
        text_custom_fields: Some(vec![]),
    };
    let document = wire::Document {
        document_base64: s(),
        document_id: s(),
        name: s(),
        file_extension: s(),
    };
    let definition = wire::EnvelopeDefinition {
        email_subject: s(),
        email_blurb: s(),
        status: s(),
        documents: Some(vec![]),
        recipients: Some(wire::Recipients::default()),
        custom_fields: Some(wire::CustomFields::default()),
    };
    let envelope = wire::Envelope {
        envelope_id: s(),
        status: s(),
        email_subject: s(),
        email_blurb: s(),
        envelope_uri: s(),
        documents_uri: s(),
        documents_combined_uri: s(),
        certificate_uri: s(),
        created_date_time: s(),
        sent_date_time: s(),
        delivered_date_time: s(),
        completed_date_time: s(),
        declined_date_time: s(),
        voided_date_time: s(),
        voided_reason: s(),
        status_changed_date_time: s(),
        last_modified_date_time: s(),
        custom_fields: Some(wire::CustomFields::default()),
        recipients: Some(wire::Recipients::default()),
    };
    let list = wire::EnvelopesInformation {
        envelopes: Some(vec![]),
        result_set_size: s(),
        total_set_size: s(),
        start_position: s(),
        end_position: s(),
    };
    let summary = wire::EnvelopeSummary {
        envelope_id: s(),
        status: s(),
        status_date_time: s(),
        uri: s(),
    };
    vec![
        (&["signHere", "dateSigned"], v(tab)),
        (&["tabs"], v(tabs)),
        (&["signer"], v(signer)),
        (&["carbonCopy"], v(cc)),
        (&["recipients"], v(recipients)),
        (&["textCustomField"], v(field)),
        (&["customFields"], v(fields)),
        (&["document"], v(document)),
        (&["envelopeDefinition"], v(definition)),
        (&["envelope"], v(envelope)),
        (&["envelopesInformation"], v(list)),
        (&["envelopeSummary"], v(summary)),
        (
            &["envelope"],
            v(wire::EnvelopeUpdate {
                status: s(),
                voided_reason: s(),
            }),
        ),
        (
            &["envelopeUpdateSummary"],
            v(wire::EnvelopeUpdateSummary { envelope_id: s() }),
        ),
        (
            &["errorDetails"],
            v(wire::ErrorDetails {
                error_code: s(),
                message: s(),
            }),
        ),
    ]
}

/// Every property name our wire types can write.
fn vocabulary() -> BTreeSet<String> {
    maximal_wire_values()
        .into_iter()
        .flat_map(|(_, v)| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>())
        .collect()
}

#[test]
fn every_wire_field_is_a_spec_property_of_the_right_type() {
    let spec = spec();
    let definitions = &spec["definitions"];
    for (names, value) in maximal_wire_values() {
        for name in names {
            let properties = definitions[*name]["properties"]
                .as_object()
                .unwrap_or_else(|| panic!("no definition `{name}` in the spec"));
            for (field, written) in value.as_object().unwrap() {
                let property = properties.get(field).unwrap_or_else(|| {
                    panic!("`{field}` is not a property of `{name}` in the spec")
                });
                if written.is_string() {
                    assert_eq!(
                        property["type"], "string",
                        "`{name}.{field}` is not a string in the spec"
                    );
                }
            }
        }
    }
    // The Connect message's fields are those of DocuSign's Connect 2.0 JSON schema.
    let connect: Value = serde_json::from_slice(
        &std::fs::read(spec_path().with_file_name("connect.schema-v2.json")).unwrap(),
    )
    .unwrap();
    let event = serde_json::to_value(wire::ConnectEvent {
        event: "envelope-sent".into(),
        data: wire::ConnectData {
            user_id: s(),
            recipient_id: s(),
            envelope_summary: Some(wire::Envelope::default()),
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap();
    for (field, value) in event.as_object().unwrap() {
        assert!(
            connect.get(field).is_some(),
            "`{field}` is not in the Connect schema"
        );
        assert_eq!(
            std::mem::discriminant(value),
            std::mem::discriminant(&connect[field]),
            "`{field}` has another JSON type than in the Connect schema"
        );
    }
    for field in event["data"].as_object().unwrap().keys() {
        assert!(
            connect["data"].get(field).is_some(),
            "`data.{field}` is not in the Connect schema"
        );
    }
}

/// The paths the adapter calls (spec keys, without `basePath`).
const OPERATIONS: [&str; 3] = [
    "/v2.1/accounts/{accountId}/envelopes",
    "/v2.1/accounts/{accountId}/envelopes/{envelopeId}",
    "/v2.1/accounts/{accountId}/envelopes/{envelopeId}/documents/{documentId}",
];

/// The spec Prism gets: see the module docs.
fn derived_spec() -> Value {
    let mut spec = spec();
    let base_path = spec["basePath"].as_str().unwrap_or("").to_owned();
    let paths: Map<String, Value> = OPERATIONS
        .iter()
        .map(|p| {
            let mut item = spec["paths"][*p].clone();
            for operation in item.as_object_mut().unwrap().values_mut() {
                // The spec gives every operation `"consumes": []` (and most `"produces": []`),
                // which in Swagger 2 overrides the global `application/json` with nothing.
                if let Some(op) = operation.as_object_mut() {
                    for key in ["consumes", "produces"] {
                        if op
                            .get(key)
                            .and_then(Value::as_array)
                            .is_some_and(Vec::is_empty)
                        {
                            op.remove(key);
                        }
                    }
                }
            }
            (format!("{base_path}{p}"), item)
        })
        .collect();
    let vocabulary = vocabulary();
    let mut definitions = spec["definitions"].as_object().unwrap().clone();
    for definition in definitions.values_mut() {
        narrow(definition, &vocabulary);
    }
    // Keep the definitions still referenced from the kept operations.
    let mut keep = BTreeSet::new();
    let mut todo = vec![Value::Object(paths.clone())];
    while let Some(v) = todo.pop() {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    match (k.as_str(), v.as_str()) {
                        ("$ref", Some(r)) => {
                            let name = r.rsplit('/').next().unwrap().to_owned();
                            if keep.insert(name.clone()) {
                                todo.push(definitions.get(&name).cloned().unwrap_or_else(|| {
                                    panic!("the spec refers to a missing definition `{name}`")
                                }));
                            }
                        }
                        _ => todo.push(v),
                    }
                }
            }
            Value::Array(a) => todo.extend(a),
            _ => {}
        }
    }
    definitions.retain(|k, _| keep.contains(k));
    let root = spec.as_object_mut().unwrap();
    root.remove("basePath");
    root.remove("x-ds-categories");
    root.remove("tags");
    root.insert("paths".into(), Value::Object(paths));
    root.insert("definitions".into(), Value::Object(definitions));
    spec
}

/// Drops every property outside `vocabulary`, at every depth.
fn narrow(value: &mut Value, vocabulary: &BTreeSet<String>) {
    match value {
        Value::Object(m) => {
            if let Some(Value::Object(props)) = m.get_mut("properties") {
                props.retain(|k, _| vocabulary.contains(k));
            }
            for v in m.values_mut() {
                narrow(v, vocabulary);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|v| narrow(v, vocabulary)),
        _ => {}
    }
}

/// Prism's process; killed (by its own pid) when the test ends.
struct Prism {
    child: std::process::Child,
    log: PathBuf,
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prism {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn start_prism(dir: &std::path::Path, upstream: &str) -> (Prism, String) {
    let bin =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/node_modules/.bin/prism");
    assert!(
        bin.is_file(),
        "Prism is not installed at {}: run `npm ci --prefix crates/sign/tests/conformance` (scripts/bootstrap.sh does)",
        bin.display()
    );
    let spec = dir.join("docusign-subset.json");
    std::fs::write(&spec, serde_json::to_vec(&derived_spec()).unwrap()).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = dir.join("prism.log");
    let out = std::fs::File::create(&log).unwrap();
    let child = Command::new(&bin)
        .arg("proxy")
        .arg(&spec)
        .arg(upstream)
        .args([
            "--errors",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .stdout(Stdio::from(out.try_clone().unwrap()))
        .stderr(Stdio::from(out))
        .spawn()
        .expect("Prism starts");
    let prism = Prism { child, log };
    let started = Instant::now();
    while !prism.log().contains("Prism is listening") {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "Prism did not start:\n{}",
            prism.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("Prism listening after {:?}", started.elapsed());
    (prism, format!("http://127.0.0.1:{port}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adapter_and_sandbox_traffic_conforms_to_the_spec_through_prism() {
    let s = sandbox(Config::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let (prism, prism_url) = start_prism(dir.path(), &s.base_url);
    let a = DocuSign::new(adapter_config(&prism_url, &s.account_id)).unwrap();
    let fail = |what: &str, e: ProviderError| -> ! {
        // Prism logs the violations just after answering.
        std::thread::sleep(Duration::from_millis(300));
        panic!("{what} through Prism failed: {e}\n{}", prism.log())
    };

    let req = request(simple_pdf(), "conformance");
    let id = a
        .create_envelope(&req)
        .await
        .unwrap_or_else(|e| fail("create", e));
    let status = a
        .envelope_status(&id)
        .await
        .unwrap_or_else(|e| fail("status", e));
    assert_eq!(status.state, EnvelopeState::Sent);
    let found = a
        .find_by_idempotency_key(&req.idempotency_key)
        .await
        .unwrap_or_else(|e| fail("find", e));
    assert_eq!(found.map(|f| f.envelope_id), Some(id.clone()));
    assert!(a
        .find_by_idempotency_key("absent")
        .await
        .unwrap_or_else(|e| fail("find", e))
        .is_none());
    assert_eq!(sign_on_page(&s, id.as_str(), "1").await, 303);
    assert_eq!(sign_on_page(&s, id.as_str(), "2").await, 303);
    let status = a
        .envelope_status(&id)
        .await
        .unwrap_or_else(|e| fail("status", e));
    assert_eq!(status.state, EnvelopeState::Completed);
    a.combined_pdf(&id)
        .await
        .unwrap_or_else(|e| fail("combined", e));
    a.certificate_pdf(&id)
        .await
        .unwrap_or_else(|e| fail("certificate", e));
    // Error answers are checked too (errorDetails on 400).
    let err = a.void(&id, "too late").await.unwrap_err();
    assert!(
        matches!(&err, ProviderError::Rejected { code, .. } if code == "ENVELOPE_CANNOT_VOID_INVALID_STATE"),
        "{err:?}\n{}",
        prism.log()
    );
    let other = a
        .create_envelope(&request(simple_pdf(), "conformance-2"))
        .await
        .unwrap_or_else(|e| fail("create", e));
    a.void(&other, "changed our minds")
        .await
        .unwrap_or_else(|e| fail("void", e));

    // The control: Prism does refuse what the spec forbids (`documents` must be an array).
    let refused = http()
        .post(format!(
            "{prism_url}/restapi/v2.1/accounts/{}/envelopes",
            s.account_id
        ))
        .bearer_auth(TOKEN)
        .json(
            &serde_json::json!({"emailSubject": "x", "status": "sent", "documents": "not a list"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status().as_u16(),
        422,
        "Prism does not validate requests"
    );

    // Prism writes its log lines just after answering.
    let waited = Instant::now();
    while !prism.log().contains("UNPROCESSABLE_ENTITY") && waited.elapsed() < Duration::from_secs(5)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = prism.log();
    assert!(
        log.contains("Forwarding"),
        "the traffic went through Prism:\n{log}"
    );
    let violations: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("Violation") && (l.contains("error") || l.contains("✖")))
        .collect();
    assert!(
        violations.is_empty(),
        "spec violations:\n{}",
        violations.join("\n")
    );
    let refusals = log.matches("UNPROCESSABLE_ENTITY").count();
    assert_eq!(refusals, 1, "only the control request was refused:\n{log}");
}
