//! The Countersign desktop shell: wiring only. It opens the data dir, starts the background
//! worker and the change feed, and exposes a few tiny commands; all behaviour lives in
//! `countersign-workflow`, shared with the `countersign` CLI.

pub mod bindings;
mod commands;
mod events;
pub mod graphics;

use clap::Parser;
use countersign_workflow::worker::{self, Cancel, Until, WorkerOptions};
use countersign_workflow::Workspace;
use std::path::PathBuf;
use tauri::Manager;

#[derive(Parser, Debug)]
#[command(
    name = "countersign-desktop",
    version,
    about = "Countersign desktop app"
)]
struct Args {
    /// Data dir (database, files, settings, logs). Default: the OS data dir.
    #[arg(long, env = "COUNTERSIGN_DATA_DIR")]
    data_dir: Option<PathBuf>,
}

/// What every command can reach.
pub struct AppState {
    pub workspace: Workspace,
    pub hot_folders: countersign_workflow::watch::HotFolders,
    /// How the status loop is doing (online, relay lag), as it last reported.
    pub sync_status: tokio::sync::watch::Receiver<countersign_workflow::sync::SyncStatus>,
}

pub fn run() {
    let args = Args::parse();
    let data_dir = match countersign_workflow::resolve_data_dir(args.data_dir) {
        Ok(d) => d,
        Err(e) => fail_to_start(&e.message),
    };
    let _log = countersign_workflow::logging::init(&data_dir, "countersign-desktop", "info");
    let mut workspace = match tauri::async_runtime::block_on(Workspace::open(&data_dir)) {
        Ok(ws) => ws,
        Err(e) => fail_to_start(&format!("{} ({})", e.message, e.code.as_str())),
    };
    // The embedded default needs no account anywhere: the local sandbox provider runs inside the
    // app (unless a provider is configured), on its default address or, when that is taken,
    // another free one on loopback (the provider URL follows it).
    let sandbox_listener = if workspace.config().provider_kind
        == countersign_workflow::config::ProviderKind::Sandbox
        && workspace.config().provider_base_url.is_none()
    {
        let listener = tauri::async_runtime::block_on(async {
            match tokio::net::TcpListener::bind(countersign_sandbox::DEFAULT_LISTEN).await {
                Ok(l) => Ok(l),
                Err(e) => {
                    tracing::info!(addr = countersign_sandbox::DEFAULT_LISTEN, error = %e, "the sandbox's port is taken; using another");
                    tokio::net::TcpListener::bind("127.0.0.1:0").await
                }
            }
        });
        match listener {
            Ok(l) => {
                if let Ok(addr) = l.local_addr() {
                    if addr.to_string() != countersign_sandbox::DEFAULT_LISTEN {
                        workspace.use_embedded_provider_at(format!("http://{addr}"));
                    }
                }
                Some(l)
            }
            Err(e) => {
                tracing::error!(error = %e, "the embedded sandbox provider cannot listen");
                None
            }
        }
    } else {
        None
    };
    tracing::info!(data_dir = %data_dir.display(), "starting");
    let cancel = Cancel::new();
    // Hot folders from countersign.toml, watched from now until the app exits.
    let hot_folders = tauri::async_runtime::block_on({
        let (ws, cancel) = (workspace.clone(), cancel.clone());
        async move { countersign_workflow::watch::HotFolders::start(&ws, cancel) }
    });

    // The embedded default: with no relay configured, the app runs its own on loopback, and the
    // local sandbox (below) posts its webhooks there.
    let local_relay = if workspace.config().relay_url.is_none() {
        let (ws, cancel) = (workspace.clone(), cancel.clone());
        match tauri::async_runtime::block_on(async move {
            countersign_workflow::sync::start_local_relay(
                &ws,
                countersign_workflow::sync::LOCAL_RELAY_LISTEN,
                cancel,
            )
            .await
        }) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::error!(error = %e, "no local relay: signature status comes from polling only");
                None
            }
        }
    } else {
        None
    };
    let (sync_tx, sync_rx) =
        tokio::sync::watch::channel(countersign_workflow::sync::SyncStatus::default());

    let app = tauri::Builder::default()
        .manage(AppState {
            workspace: workspace.clone(),
            hot_folders,
            sync_status: sync_rx.clone(),
        })
        .invoke_handler(tauri::generate_handler![
            commands::documents::list_documents,
            commands::documents::show_document,
            commands::documents::ingest_file,
            commands::app::app_info,
            commands::pages::list_versions,
            commands::pages::list_pages,
            commands::pages::edit_pages,
            commands::pages::insert_pages,
            commands::rejected::list_rejected,
            commands::rejected::retry_rejected,
            commands::capture::list_scanners,
            commands::capture::scan_document,
            commands::capture::scan_into_document,
            commands::folders::list_hot_folders,
            commands::folders::add_hot_folder,
            commands::folders::remove_hot_folder,
            commands::queue::queue_page,
            commands::signature::send_document,
            commands::signature::outbox_status,
            commands::signature::envelope_info,
            commands::signature::refresh_envelope,
            commands::signature::void_envelope,
            commands::signature::resend_document,
            commands::signature::save_evidence,
            commands::signature::provider_settings,
            commands::signature::set_provider_token,
            commands::signature::forget_provider_token,
            commands::signature::sync_status,
            commands::signature::relay_settings,
            commands::signature::set_relay_token,
            commands::signature::forget_relay_token,
            commands::review::review_document,
            commands::review::change_document,
            commands::review::decide_document,
            commands::review::bulk_approve,
            commands::review::set_recipients,
            commands::review::get_reviewer_name,
            commands::review::set_reviewer_name,
        ])
        .register_asynchronous_uri_scheme_protocol("page", |ctx, request, responder| {
            let ws = ctx.app_handle().state::<AppState>().workspace.clone();
            let path = request.uri().path().to_owned();
            tauri::async_runtime::spawn(async move {
                responder.respond(commands::pages::serve_page_image(&ws, &path).await);
            });
        })
        .setup({
            let cancel = cancel.clone();
            let mut local_relay = local_relay;
            let mut sandbox_listener = sandbox_listener;
            move |app| {
                let ws = app.state::<AppState>().workspace.clone();
                let webhooks: Vec<_> = local_relay
                    .iter()
                    .map(|r| countersign_sandbox::WebhookTarget {
                        url: r.hooks_url(),
                        secret: r.hmac_secret.clone(),
                    })
                    .collect();
                if let Some(listener) = sandbox_listener.take() {
                    tauri::async_runtime::spawn(run_embedded_sandbox(
                        listener,
                        ws.data_dir().join("sandbox"),
                        webhooks,
                        cancel.clone(),
                    ));
                }
                // The status loop: relay events by long-poll, reconciliation every minute.
                let local_link = local_relay.as_ref().map(|r| r.link.clone());
                if let Some(relay) = local_relay.take() {
                    // Keeps its temporary database until it has stopped.
                    tauri::async_runtime::spawn(relay.stopped());
                }
                let (sync_ws, sync_cancel) = (ws.clone(), cancel.clone());
                let sync_tx = sync_tx.clone();
                tauri::async_runtime::spawn(async move {
                    let link = match local_link {
                        Some(l) => Some(l),
                        None => match countersign_workflow::sync::configured_relay(&sync_ws).await {
                            Ok(l) => l,
                            Err(e) => {
                                tracing::warn!(error = %e, "the configured relay cannot be used");
                                sync_tx.send_modify(|s| s.error = Some(e.message.clone()));
                                None
                            }
                        },
                    };
                    countersign_workflow::sync::run(
                        &sync_ws,
                        link,
                        std::time::Duration::from_secs(60),
                        sync_tx,
                        &sync_cancel,
                    )
                    .await;
                });
                tauri::async_runtime::spawn(events::feed_sync_status(
                    app.handle().clone(),
                    sync_rx.clone(),
                    cancel.clone(),
                ));
                let worker_ws = ws.clone();
                let worker_cancel = cancel.clone();
                tauri::async_runtime::spawn(async move {
                    let opts = WorkerOptions::new(Until::Cancelled);
                    if let Err(e) = worker::run(&worker_ws, &opts, &worker_cancel).await {
                        tracing::error!(error = %e, "the background worker stopped");
                    }
                });
                tauri::async_runtime::spawn(events::feed_document_changes(
                    app.handle().clone(),
                    ws,
                    cancel.clone(),
                ));
                Ok(())
            }
        })
        .build(tauri::generate_context!())
        .unwrap_or_else(|e| fail_to_start(&format!("cannot start the window: {e}")));
    app.run(move |_, event| {
        if let tauri::RunEvent::Exit = event {
            cancel.cancel();
        }
    });
}

/// The local sandbox provider on `listener`, its envelopes kept in the data dir, its webhooks
/// going to `webhooks` (the app's own relay).
async fn run_embedded_sandbox(
    listener: tokio::net::TcpListener,
    dir: PathBuf,
    webhooks: Vec<countersign_sandbox::WebhookTarget>,
    cancel: Cancel,
) {
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let config = countersign_sandbox::Config {
        data: countersign_sandbox::DataLocation::Dir(dir),
        webhooks,
        ..Default::default()
    };
    tracing::info!(%addr, "embedded sandbox provider listening");
    if let Err(e) = countersign_sandbox::run(config, listener, cancel).await {
        tracing::error!(error = %e, "the embedded sandbox provider stopped");
    }
}

/// Who is acting, for the audit log.
pub(crate) fn actor() -> String {
    format!(
        "desktop:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

fn fail_to_start(message: &str) -> ! {
    eprintln!("countersign-desktop: {message}");
    std::process::exit(1);
}
