//! `countersign-sandbox`: the local signature provider as a program.
//!
//! ```text
//! countersign-sandbox serve [--listen 127.0.0.1:7081] [--data-dir DIR] [--account-id ID] [--token TOKEN]
//!                           [--auto-sign SECONDS] [--webhook-url URL --webhook-secret SECRET]...
//!                           [--faults SPEC] [--public-url URL]
//! ```
//!
//! The first line on stdout is `listening on http://ADDR` (with `--listen 127.0.0.1:0` it names
//! the port the system chose); logs go to stderr (`RUST_LOG` filters them).

use anyhow::Context;
use clap::{Parser, Subcommand};
use countersign_sandbox::{Config, DataLocation, Faults, WebhookTarget};
use countersign_sign::SecretString;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "countersign-sandbox",
    version,
    about = "A local signature provider speaking the DocuSign eSignature v2.1 subset Countersign uses"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API, the signing pages and the test endpoints until interrupted.
    Serve(Serve),
}

#[derive(clap::Args)]
struct Serve {
    /// Address to listen on (port 0: any free port, printed on start).
    #[arg(long, default_value = countersign_sandbox::DEFAULT_LISTEN)]
    listen: String,
    /// Keep envelopes in DIR/sandbox.db across restarts (default: in memory, gone at exit).
    #[arg(long, env = "COUNTERSIGN_SANDBOX_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The account id served (`/restapi/v2.1/accounts/{ID}/…`).
    #[arg(long, default_value = countersign_sandbox::DEFAULT_ACCOUNT_ID)]
    account_id: String,
    /// Accept only this bearer token (default: any non-empty token).
    #[arg(long, env = "COUNTERSIGN_SANDBOX_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Sign every recipient, in routing order, SECONDS after their turn comes (fractions allowed).
    #[arg(long, value_name = "SECONDS")]
    auto_sign: Option<f64>,
    /// Send Connect-style webhooks here (repeatable; pairs with --webhook-secret in order).
    #[arg(long = "webhook-url", value_name = "URL")]
    webhook_urls: Vec<String>,
    /// HMAC secret of each webhook URL (X-DocuSign-Signature-1). One secret serves every URL.
    #[arg(
        long = "webhook-secret",
        value_name = "SECRET",
        env = "COUNTERSIGN_SANDBOX_WEBHOOK_SECRET",
        hide_env_values = true,
        value_delimiter = ','
    )]
    webhook_secrets: Vec<String>,
    /// Faults to inject: `key=value,...` or JSON, keys as in POST /_sandbox/faults
    /// (seed, create_response_lost, create_unavailable, latency_ms, rate_limit_next,
    /// retry_after_secs, list_index_delay_ms, webhook_drop, webhook_duplicate, webhook_reorder).
    #[arg(long, value_name = "SPEC")]
    faults: Option<String>,
    /// The address others use to reach this sandbox (links, `uri`s), if not http://LISTEN.
    #[arg(long)]
    public_url: Option<String>,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    let Command::Serve(args) = Cli::parse().command;
    let config = config(&args)?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(serve(args.listen, config))
}

fn config(args: &Serve) -> anyhow::Result<Config> {
    let faults = match &args.faults {
        Some(spec) => Faults::parse(spec)?,
        None => Faults::default(),
    };
    if !args.webhook_urls.is_empty() && args.webhook_secrets.is_empty() {
        anyhow::bail!("--webhook-url needs --webhook-secret (webhooks are always signed)");
    }
    if args.webhook_secrets.len() > 1 && args.webhook_secrets.len() != args.webhook_urls.len() {
        anyhow::bail!("give one --webhook-secret, or one per --webhook-url");
    }
    let webhooks = args
        .webhook_urls
        .iter()
        .enumerate()
        .map(|(i, url)| {
            let secret = args
                .webhook_secrets
                .get(i)
                .or(args.webhook_secrets.first())
                .cloned()
                .unwrap_or_default();
            WebhookTarget {
                url: url.clone(),
                secret: SecretString::from(secret),
            }
        })
        .collect();
    let auto_sign = args
        .auto_sign
        .map(|s| {
            Duration::try_from_secs_f64(s)
                .map_err(|_| anyhow::anyhow!("--auto-sign takes a number of seconds from 0"))
        })
        .transpose()?;
    Ok(Config {
        data: args
            .data_dir
            .clone()
            .map_or(DataLocation::Memory, DataLocation::Dir),
        account_id: args.account_id.clone(),
        token: args.token.clone().map(SecretString::from),
        auto_sign,
        webhooks,
        faults,
        public_url: args.public_url.clone(),
        ..Config::default()
    })
}

async fn serve(listen: String, config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{addr}")?;
        out.flush()?;
    }
    let shutdown = CancellationToken::new();
    let on_signal = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("interrupted; stopping");
        on_signal.cancel();
    });
    countersign_sandbox::run(config, listener, shutdown)
        .await
        .context("the sandbox stopped with an error")
}
