//! `countersign-relay`: wiring only. `serve` runs the relay; `tenant` and `token` administer the
//! same database. Errors go to stderr as `{"code", "message"}` with exit code 1.

use clap::{Args, Parser, Subcommand};
use countersign_relay::{tenants, tokens, Config, DatabaseUrl, RelayError, Store, TenantId};
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "countersign-relay",
    version,
    about = "Countersign webhook relay"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct DatabaseArg {
    /// `sqlite:PATH` for one relay process, or `postgres://USER@HOST[:PORT]/DATABASE` for several
    /// relay instances sharing one database (password from PGPASSWORD or ~/.pgpass, or in the
    /// URL; prefer the environment variable to the argument, which other local users can see).
    #[arg(
        long,
        env = "COUNTERSIGN_RELAY_DATABASE",
        hide_env_values = true,
        default_value = "sqlite:countersign-relay.db"
    )]
    database: String,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the relay until Ctrl-C / SIGTERM.
    Serve {
        #[arg(
            long,
            env = "COUNTERSIGN_RELAY_LISTEN",
            default_value = "127.0.0.1:7082"
        )]
        listen: String,
        #[command(flatten)]
        db: DatabaseArg,
        /// Events older than this many days are purged.
        #[arg(long, default_value_t = 30)]
        retention_days: u32,
    },
    /// Tenants and their DocuSign Connect HMAC secrets.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Workstation tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant, or add another active HMAC secret to it (key rotation).
    Create {
        #[command(flatten)]
        db: DatabaseArg,
        #[arg(long)]
        tenant: String,
        /// Prefer the environment variable: arguments are visible to other local users.
        #[arg(
            long,
            env = "COUNTERSIGN_RELAY_DOCUSIGN_HMAC_SECRET",
            hide_env_values = true
        )]
        docusign_hmac_secret: String,
    },
    /// Stop accepting one of a tenant's HMAC secrets.
    RetireSecret {
        #[command(flatten)]
        db: DatabaseArg,
        #[arg(long)]
        tenant: String,
        #[arg(
            long,
            env = "COUNTERSIGN_RELAY_DOCUSIGN_HMAC_SECRET",
            hide_env_values = true
        )]
        docusign_hmac_secret: String,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a workstation token; it is printed once, alone on the last line of stdout.
    Create {
        #[command(flatten)]
        db: DatabaseArg,
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: String,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return fail(&RelayError::Io(e)),
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(e: &RelayError) -> ExitCode {
    eprintln!(
        "{}",
        serde_json::json!({"code": e.code(), "message": e.to_string()})
    );
    ExitCode::FAILURE
}

async fn open(db: &DatabaseArg) -> Result<Store, RelayError> {
    Store::open(&DatabaseUrl::parse(&db.database)?).await
}

async fn dispatch(command: Command) -> Result<(), RelayError> {
    match command {
        Command::Serve {
            listen,
            db,
            retention_days,
        } => {
            let config =
                Config::new(DatabaseUrl::parse(&db.database)?).with_retention_days(retention_days);
            let listener = tokio::net::TcpListener::bind(&listen).await?;
            eprintln!(
                "countersign-relay listening on http://{}",
                listener.local_addr()?
            );
            let shutdown = CancellationToken::new();
            tokio::spawn(stop_on_signal(shutdown.clone()));
            countersign_relay::run(config, listener, shutdown).await
        }
        Command::Tenant(TenantCommand::Create {
            db,
            tenant,
            docusign_hmac_secret,
        }) => {
            let tenant = TenantId::parse(&tenant)?;
            let store = open(&db).await?;
            let added = tenants::add_secret(&store, &tenant, &docusign_hmac_secret).await;
            store.close().await;
            let added = added?;
            match (added.tenant_created, added.secret_added) {
                (true, _) => println!("created tenant {tenant}"),
                (false, true) => println!("added an HMAC secret to tenant {tenant}"),
                (false, false) => println!("tenant {tenant} already has this HMAC secret"),
            }
            Ok(())
        }
        Command::Tenant(TenantCommand::RetireSecret {
            db,
            tenant,
            docusign_hmac_secret,
        }) => {
            let tenant = TenantId::parse(&tenant)?;
            let store = open(&db).await?;
            let retired = tenants::retire_secret(&store, &tenant, &docusign_hmac_secret).await;
            store.close().await;
            if retired? {
                println!("retired an HMAC secret of tenant {tenant}");
            } else {
                println!("tenant {tenant} has no such active HMAC secret");
            }
            Ok(())
        }
        Command::Token(TokenCommand::Create { db, tenant, name }) => {
            let tenant = TenantId::parse(&tenant)?;
            let store = open(&db).await?;
            let token = tokens::create_token(&store, &tenant, &name).await;
            store.close().await;
            let token = token?;
            println!("created token {name:?} for tenant {tenant}; it is shown only this once:");
            println!("{token}");
            Ok(())
        }
    }
}

async fn stop_on_signal(shutdown: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                shutdown.cancel();
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    shutdown.cancel();
}
