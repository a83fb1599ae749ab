//! The `tessera` command.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use secrecy::SecretString;
use tessera::{Server, Settings};
use tessera_core::audit::Actor;
use tessera_core::auth::Registration;
use tessera_core::keys::KeyState;
use tessera_core::{AuthError, SystemClock};
use tokio::net::TcpListener;

/// A session check is mostly small allocations (request, headers, the
/// session record, the JSON answer); mimalloc serves them faster than the
/// system allocator (docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "tessera",
    version,
    about = "Session authentication server for Next.js apps"
)]
struct Cli {
    /// TOML file with settings (flags and TESSERA_* env beat it)
    #[arg(long, env = "TESSERA_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server
    Serve(#[command(flatten)] Box<Settings>),
    /// Apply database migrations and exit
    Migrate(#[command(flatten)] Box<Settings>),
    /// Manage users
    User {
        #[command(subcommand)]
        command: UserCommand,
        #[command(flatten)]
        settings: Box<Settings>,
    },
    /// Check the configuration and the stores; exit 1 if anything is unsafe
    Doctor {
        /// Treat warnings as failures too
        #[arg(long)]
        strict: bool,
        #[command(flatten)]
        settings: Box<Settings>,
    },
    /// Write a commented tessera.toml and a fresh BFF key file (0600) for your app's origin
    Init {
        /// The origin your app is served from (scheme, host and port)
        #[arg(long, default_value = "http://localhost:3000")]
        public_origin: String,
        /// Folder for tessera.toml and bff.key
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Replace tessera.toml and bff.key if they exist (a new key: update the app's .env.local)
        #[arg(long)]
        force: bool,
        /// The data dir the config names [default: DIR/data]
        #[arg(long = "data-dir")]
        init_data_dir: Option<PathBuf>,
    },
    /// Show the audit log, newest first (with --follow: then new events as they come)
    Audit {
        /// Only this user's events
        #[arg(long = "user", value_name = "EMAIL")]
        user_email: Option<String>,
        /// Only events this recent (e.g. 24h, 7d)
        #[arg(long)]
        since: Option<humantime::Duration>,
        /// Only events of this kind (`sign_in`, `sign_in_failed`, …)
        #[arg(long)]
        kind: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Keep printing new events (every second) until interrupted
        #[arg(long)]
        follow: bool,
        #[command(flatten)]
        settings: Box<Settings>,
    },
    /// Copy every table of one database into another (SQLite to PostgreSQL
    /// or back): users, passwords, identities, second factors, keys,
    /// secrets, refresh families, sessions. Stop every tessera on the source
    /// first. The target is migrated first; a target holding any row is
    /// refused unless --resume
    Copy {
        /// The database to copy: `sqlite:///path/tessera.db`, a file path, or `postgres://…`
        #[arg(long)]
        from: String,
        /// The database to fill: `postgres://user:pass@host/db`, `sqlite:///path/tessera.db` or a file path
        #[arg(long)]
        to: String,
        /// Copy into a target that already holds rows, keeping them: finishes an
        /// interrupted copy; a repeated copy changes nothing
        #[arg(long)]
        resume: bool,
    },
    /// Manage the JWT signing keys
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
        #[command(flatten)]
        settings: Box<Settings>,
    },
    /// The webhook outbox: what was sent, what waits, what was given up on
    Webhooks {
        #[command(subcommand)]
        command: WebhooksCommand,
        #[command(flatten)]
        settings: Box<Settings>,
    },
}

#[derive(Debug, Subcommand)]
enum WebhooksCommand {
    /// List messages, newest first: id, event kind, state, attempts, queued, next attempt or delivery, last error
    List {
        /// Only messages in this state: pending, delivered or failed
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Send again: one message by id (whatever its state), or every failed one
    Retry {
        /// The message's webhook-id (msg_…)
        #[arg(long, conflicts_with = "failed", required_unless_present = "failed")]
        id: Option<String>,
        /// Every message given up on
        #[arg(long)]
        failed: bool,
    },
    /// Print a new signing secret for `TESSERA_WEBHOOK_SECRET` (`whsec_` and 32 random bytes)
    Secret,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// List keys: kid, algorithm, created, state (pending, active, published, unpublished)
    List,
    /// Add a new active key; the current one keeps being published until its tokens expire
    Rotate,
    /// Stop using a key that is no longer active (published until its tokens expire)
    Retire {
        #[arg(long)]
        kid: String,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user; the password is read from standard input (one line)
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
    },
    /// List users
    List {
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long, default_value_t = 0)]
        offset: u32,
    },
    /// Import users from another auth system: one JSON object per line on
    /// standard input (email, and optionally name, email verified, password
    /// hash, created at; see the README). Bcrypt, scrypt and Better Auth
    /// hashes work at the next sign-in and are then replaced by Argon2id.
    /// Existing emails are skipped.
    Import,
    /// Disable a user and end all their sessions
    Disable {
        #[arg(long)]
        email: String,
    },
    /// Enable a disabled user again
    Enable {
        #[arg(long)]
        email: String,
    },
    /// Sign a user out everywhere: end every session and refresh family
    RevokeSessions {
        #[arg(long)]
        email: String,
    },
    /// Mail the user a password reset link (you never see the password)
    ResetPassword {
        #[arg(long)]
        email: String,
    },
    /// Give or take roles; the user's sessions show them at once
    Roles {
        #[arg(long)]
        email: String,
        /// A role to add (repeat for more)
        #[arg(long = "add", value_name = "ROLE")]
        add: Vec<String>,
        /// A role to remove (repeat for more)
        #[arg(long = "remove", value_name = "ROLE")]
        remove: Vec<String>,
    },
}

fn main() -> ExitCode {
    // Before anything is created: the data dir holds every secret.
    tessera::files::private_umask();
    // Each setting's help ends with its default, from the one place
    // defaults are written (config.rs).
    let matches = tessera::config::with_defaults_in_help(Cli::command()).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tessera: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<Unsafe>() => {
            eprintln!("tessera: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("tessera: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// `tessera doctor` found something unsafe: exit status 1, as its help
/// says; 2 is for a command that could not run (e.g. an unreadable config).
#[derive(Debug)]
struct Unsafe;

impl std::fmt::Display for Unsafe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("doctor found problems")
    }
}

impl std::error::Error for Unsafe {}

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let file = cli.config.as_deref();
    match cli.command {
        Command::Serve(settings) => serve(settings.resolve(file)?).await,
        Command::Migrate(settings) => {
            let config = settings.resolve(file)?;
            init_logging(&config.log);
            tessera::Database::open(&config).await?.close().await;
            println!("migrations applied");
            Ok(())
        }
        Command::User { command, settings } => {
            let config = settings.resolve(file)?;
            init_logging(&config.log);
            let server = Server::build(&config, Arc::new(SystemClock)).await?;
            user(&server, command).await
        }
        Command::Doctor { strict, settings } => {
            let config = settings.resolve(file)?;
            init_logging("error");
            doctor(&config, strict).await
        }
        Command::Init {
            public_origin,
            dir,
            force,
            init_data_dir,
        } => init(&tessera::init::InitOptions {
            dir,
            public_origin,
            force,
            data_dir: init_data_dir,
        }),
        Command::Audit {
            user_email,
            since,
            kind,
            limit,
            follow,
            settings,
        } => {
            let config = settings.resolve(file)?;
            init_logging(&config.log);
            let server = Server::build(&config, Arc::new(SystemClock)).await?;
            let filter = AuditFilter {
                user_email,
                since: since.map(Into::into),
                kind,
                limit,
                follow,
            };
            audit(&server, filter).await
        }
        Command::Copy { from, to, resume } => {
            // sqlx warns of every statement over a second: reading a whole
            // table is one.
            init_logging("warn,sqlx::query=error");
            copy(&from, &to, resume).await
        }
        Command::Webhooks {
            command: WebhooksCommand::Secret,
            ..
        } => {
            use base64::Engine as _;
            let bytes = tessera_core::token::random_bytes::<32>();
            println!(
                "whsec_{}",
                base64::engine::general_purpose::STANDARD.encode(bytes)
            );
            Ok(())
        }
        Command::Webhooks { command, settings } => {
            let config = settings.resolve(file)?;
            init_logging(&config.log);
            let server = Server::build(&config, Arc::new(SystemClock)).await?;
            webhooks(&server, command).await
        }
        Command::Keys { command, settings } => {
            let config = settings.resolve(file)?;
            init_logging(&config.log);
            let server = Server::build(&config, Arc::new(SystemClock)).await?;
            keys(&server, command).await
        }
    }
}

/// `tessera user import`: one JSON object per line; a bad line is reported
/// with its number and the rest go on; exit status 2 if any line failed.
async fn import_users(server: &Server) -> anyhow::Result<()> {
    use tessera_core::auth::{Imported, ImportedUser};
    let (mut created, mut existing, mut failed) = (0u64, 0u64, 0u64);
    for (n, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line.context("reading standard input")?;
        if line.trim().is_empty() {
            continue;
        }
        let outcome = match serde_json::from_str::<ImportedUser>(&line) {
            Ok(user) => server.auth.import_user(user).await.map_err(|e| match e {
                AuthError::Validation(errors) => errors
                    .iter()
                    .map(|e| format!("{} {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; "),
                e => e.to_string(),
            }),
            Err(e) => Err(format!("not a user object: {e}")),
        };
        match outcome {
            Ok(Imported::Created(_)) => created += 1,
            Ok(Imported::Exists) => existing += 1,
            Err(why) => {
                failed += 1;
                eprintln!("line {}: {why}", n + 1);
            }
        }
    }
    println!("imported {created}, already there {existing}, failed {failed}");
    if failed > 0 {
        anyhow::bail!("{failed} line(s) not imported");
    }
    Ok(())
}

fn init(options: &tessera::init::InitOptions) -> anyhow::Result<()> {
    let report = tessera::init::init(options)?;
    for path in &report.written {
        println!("wrote   {}", path.display());
    }
    for path in &report.skipped {
        println!("kept    {} (exists; --force replaces it)", path.display());
    }
    println!();
    println!("In your Next.js app's .env.local (the same key on both sides):");
    println!("  TESSERA_URL=http://127.0.0.1:4000");
    println!("  TESSERA_BFF_KEY={}", report.key);
    println!();
    println!("Start tessera:");
    println!("  tessera serve --config {}", report.config.display());
    Ok(())
}

async fn serve(config: tessera::Config) -> anyhow::Result<()> {
    init_logging(&config.log);
    config.check_listen()?;
    if config.database_url.is_none() {
        for (path, mode) in tessera::files::loose_modes(&config.data_dir) {
            tracing::warn!(
                path = %path.display(),
                mode = format!("{mode:04o}"),
                "readable by other users: it holds tessera's secrets; chmod it (dir 0700, files 0600)"
            );
        }
    }
    let server = Server::build(&config, Arc::new(SystemClock)).await?;
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let _sweeper = server.spawn_sweeper(config.session_sweep_interval);
    let _reloader = server.spawn_key_reloader(std::time::Duration::from_mins(1));
    let _mailer = server.spawn_mailer(config.mail.queue_interval);
    let _webhooks = server.spawn_webhooks();
    // Scripts wait for this exact line.
    println!("tessera listening on http://{addr}");
    std::io::stdout().flush()?;
    server.serve(listener, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

async fn user(server: &Server, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Create { email, name } => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            let password = SecretString::from(line.trim_end_matches(['\r', '\n']).to_owned());
            match server
                .auth
                .create_user(Registration {
                    email,
                    password,
                    name,
                })
                .await
            {
                Ok(user) => {
                    println!("created {} {}", user.id, user.email);
                    Ok(())
                }
                Err(AuthError::Validation(errors)) => {
                    let why: Vec<String> = errors
                        .iter()
                        .map(|e| format!("{} {}", e.field, e.message))
                        .collect();
                    anyhow::bail!("invalid input: {}", why.join("; "))
                }
                Err(AuthError::EmailTaken) => anyhow::bail!("a user with that email exists"),
                Err(e) => Err(e.into()),
            }
        }
        UserCommand::List { limit, offset } => {
            let fmt = time::format_description::well_known::Rfc3339;
            for r in server.auth.list_users(limit, offset).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    r.user.id,
                    r.user.email,
                    r.user.name.as_deref().unwrap_or("-"),
                    r.user.created_at.format(&fmt).unwrap_or_default(),
                    if r.disabled_at.is_some() {
                        "disabled"
                    } else {
                        "active"
                    },
                );
            }
            Ok(())
        }
        UserCommand::Import => import_users(server).await,
        UserCommand::Disable { email } => {
            let ended = by_email(server.auth.disable_user(&email).await)?;
            println!("disabled {email}; ended {ended} session(s)");
            Ok(())
        }
        UserCommand::Enable { email } => {
            by_email(server.auth.enable_user(&email, Actor::Cli).await)?;
            println!("enabled {email}");
            Ok(())
        }
        UserCommand::RevokeSessions { email } => {
            let ended = by_email(server.auth.revoke_user_sessions(&email, Actor::Cli).await)?;
            println!("{email}: ended {ended} session(s) and every refresh token");
            Ok(())
        }
        UserCommand::ResetPassword { email } => {
            by_email(server.auth.send_password_reset(&email, Actor::Cli).await)?;
            println!("{email}: a reset link is queued (sent by a running tessera's mail worker)");
            Ok(())
        }
        UserCommand::Roles { email, add, remove } => {
            let roles = by_email(
                server
                    .auth
                    .change_roles(&email, &add, &remove, Actor::Cli)
                    .await,
            )?;
            println!("{email}: {}", roles.join(" "));
            Ok(())
        }
    }
}

/// A `tessera user` command's outcome in words: an unknown email, or what
/// was invalid.
fn by_email<T>(result: Result<T, AuthError>) -> anyhow::Result<T> {
    match result {
        Ok(v) => Ok(v),
        Err(AuthError::NotFound) => anyhow::bail!("no user with that email"),
        Err(AuthError::Validation(errors)) => anyhow::bail!(
            "{}",
            errors
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("; ")
        ),
        Err(e) => Err(e.into()),
    }
}

/// What `tessera audit` shows.
struct AuditFilter {
    user_email: Option<String>,
    since: Option<std::time::Duration>,
    kind: Option<String>,
    limit: u32,
    follow: bool,
}

/// `tessera audit`: one line per event, tab-separated (time, kind, user,
/// actor, ip, detail), oldest of the page first so the newest ends the
/// output; `--follow` then prints new events every second.
async fn audit(server: &Server, filter: AuditFilter) -> anyhow::Result<()> {
    use tessera_core::audit::{AuditQuery, EventKind};
    let user = match &filter.user_email {
        Some(email) => Some(
            server
                .auth
                .users()
                .find_user_by_email(&tessera_core::user::normalize_email(email))
                .await?
                .ok_or_else(|| anyhow::anyhow!("no user with that email"))?
                .user
                .id,
        ),
        None => None,
    };
    let kind = match &filter.kind {
        Some(k) => Some(EventKind::parse(k).ok_or_else(|| {
            let kinds: Vec<_> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
            anyhow::anyhow!("unknown kind {k:?}; one of {}", kinds.join(", "))
        })?),
        None => None,
    };
    let since = filter.since.map(|d| time::OffsetDateTime::now_utc() - d);
    let query = AuditQuery {
        user,
        kind,
        since,
        before: None,
        limit: filter.limit,
    };
    let mut events = server.auth.audit_log(&query).await?;
    events.reverse();
    let mut seen: std::collections::HashSet<_> = events.iter().map(|e| e.id).collect();
    let mut newest = events.last().map(|e| e.at);
    print_events(&events)?;
    if !filter.follow {
        return Ok(());
    }
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let mut fresh = server
            .auth
            .audit_log(&AuditQuery {
                since: newest.or(since),
                limit: 1000,
                ..query.clone()
            })
            .await?;
        fresh.retain(|e| !seen.contains(&e.id));
        fresh.reverse();
        seen.extend(fresh.iter().map(|e| e.id));
        if let Some(last) = fresh.last() {
            newest = Some(last.at);
        }
        print_events(&fresh)?;
    }
}

fn print_events(events: &[tessera_core::audit::AuditEvent]) -> anyhow::Result<()> {
    let fmt = time::format_description::well_known::Rfc3339;
    let mut out = std::io::stdout().lock();
    for e in events {
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}",
            e.at.format(&fmt).unwrap_or_default(),
            e.kind.as_str(),
            e.user_id.map_or_else(|| "-".to_owned(), |u| u.to_string()),
            e.actor.to_field(),
            e.ip.as_deref().unwrap_or("-"),
            e.detail,
        )?;
    }
    out.flush()?;
    Ok(())
}

/// `tessera copy`: the work is in `tessera_store_sql::copy`; this prints
/// what it does, table by table.
async fn copy(from: &str, to: &str, resume: bool) -> anyhow::Result<()> {
    use tessera_store_sql::copy::{CopyOptions, Endpoint};
    let started = std::time::Instant::now();
    println!(
        "copying {} to {}",
        Endpoint::parse(from)?,
        Endpoint::parse(to)?
    );
    let options = CopyOptions {
        resume,
        ..CopyOptions::default()
    };
    let tables = tessera_store_sql::copy::copy(
        from,
        to,
        options,
        |plan| {
            let last = plan.migrations.last().map_or(0, |(v, _)| *v);
            println!(
                "both at migration {last:04}; {} tables, parents first",
                plan.tables.len()
            );
        },
        |t| {
            let skipped = t.read - t.inserted;
            let kept = if skipped > 0 {
                format!(" ({skipped} already there)")
            } else {
                String::new()
            };
            let foreign = t
                .target_rows
                .and_then(|n| n.checked_sub(t.read))
                .filter(|extra| *extra > 0)
                .map(|extra| {
                    format!(
                        " (and {extra} the source does not have: has a tessera served from the target?)"
                    )
                })
                .unwrap_or_default();
            println!(
                "{:<20} {:>9} rows copied{kept}{foreign} in {:.2} s",
                t.table,
                t.inserted,
                t.elapsed.as_secs_f64()
            );
            let _ = std::io::stdout().flush();
        },
    )
    .await?;
    let rows: u64 = tables.iter().map(|t| t.inserted).sum();
    println!(
        "done: {rows} rows in {} tables in {:.2} s",
        tables.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn webhooks(server: &Server, command: WebhooksCommand) -> anyhow::Result<()> {
    use tessera_core::webhook::WebhookState;
    let store = server.auth.webhooks();
    let fmt = time::format_description::well_known::Rfc3339;
    let show = |t: time::OffsetDateTime| t.format(&fmt).unwrap_or_default();
    match command {
        WebhooksCommand::List { state, limit } => {
            let state =
                match state.as_deref() {
                    None => None,
                    Some(s) => Some(WebhookState::parse(s).with_context(|| {
                        format!("--state {s:?}: use pending, delivered or failed")
                    })?),
                };
            for m in store.list_webhooks(state, limit.clamp(1, 10_000)).await? {
                let when = match (m.state, m.delivered_at) {
                    (WebhookState::Delivered, Some(at)) => format!("delivered {}", show(at)),
                    (WebhookState::Pending, _) => format!("next {}", show(m.next_attempt_at)),
                    _ => "-".into(),
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    m.id,
                    m.kind,
                    m.state.as_str(),
                    m.attempts,
                    show(m.created_at),
                    when,
                    m.last_error.as_deref().unwrap_or("-")
                );
            }
            if server.webhooks.is_none() {
                eprintln!("note: TESSERA_WEBHOOK_URL is not set: new events are not queued");
            }
            Ok(())
        }
        WebhooksCommand::Retry { id, failed: _ } => {
            let n = store
                .retry_webhooks(id.as_deref(), server.auth.now())
                .await?;
            if n == 0
                && let Some(id) = id
            {
                anyhow::bail!("no webhook message {id}");
            }
            println!("{n} queued again; a running server sends them within a second");
            Ok(())
        }
        WebhooksCommand::Secret => unreachable!("answered before the config is read"),
    }
}

async fn keys(server: &Server, command: KeysCommand) -> anyhow::Result<()> {
    let ring = server.tokens.keys();
    match command {
        KeysCommand::List => {
            let fmt = time::format_description::well_known::Rfc3339;
            for (key, state) in ring.states().await? {
                println!(
                    "{}\t{}\t{}\t{}",
                    key.kid,
                    key.alg,
                    key.created_at.format(&fmt).unwrap_or_default(),
                    match state {
                        KeyState::Pending => "pending",
                        KeyState::Active => "active",
                        KeyState::Published => "published",
                        KeyState::Unpublished => "unpublished",
                    }
                );
            }
            Ok(())
        }
        KeysCommand::Rotate => {
            let key = ring.rotate().await?;
            println!(
                "new active key {} ({}); running servers pick it up within a minute",
                key.kid, key.alg
            );
            Ok(())
        }
        KeysCommand::Retire { kid } => match ring.retire(&kid).await {
            Ok(()) => {
                println!("retired {kid}");
                Ok(())
            }
            Err(AuthError::NotFound) => anyhow::bail!("no key {kid}"),
            Err(AuthError::Validation(e)) => anyhow::bail!("{} {}", e[0].field, e[0].message),
            Err(e) => Err(e.into()),
        },
    }
}

async fn doctor(config: &tessera::Config, strict: bool) -> anyhow::Result<()> {
    use secrecy::ExposeSecret;
    use tessera::doctor::{Finding, Level, check_config, check_redis, check_skew};
    let mut findings = check_config(config);
    if config.database_url.is_none() {
        findings.extend(tessera::doctor::check_files(&config.data_dir));
    }
    let now = || time::OffsetDateTime::now_utc().unix_timestamp();
    let unreachable = |store: &str, e: &dyn std::fmt::Display| Finding {
        level: Level::Error,
        message: format!("{store} unreachable: {e}"),
    };
    if let Some(url) = config
        .database_url
        .as_ref()
        .map(ExposeSecret::expose_secret)
        && (url.starts_with("postgres://") || url.starts_with("postgresql://"))
    {
        let pg = tessera_store_sql::PgStore::connect_lazy(
            url,
            tessera_store_sql::PgSettings::default(),
        )?;
        match pg.server_time().await {
            Ok(t) => findings.push(check_skew("PostgreSQL", t - now())),
            Err(e) => findings.push(unreachable("PostgreSQL", &e)),
        }
    }
    if let Some(url) = config
        .session_store
        .as_ref()
        .map(ExposeSecret::expose_secret)
    {
        let redis = tessera_store_redis::RedisStore::open(
            url,
            &tessera_store_redis::RedisSettings::default(),
        )?;
        match redis.server_time().await {
            Ok(t) => {
                findings.push(check_skew("Redis", t - now()));
                match redis.server_facts().await {
                    Ok((version, policy)) => findings.extend(check_redis(&version, &policy)),
                    Err(e) => findings.push(unreachable("Redis", &e)),
                }
            }
            Err(e) => findings.push(unreachable("Redis", &e)),
        }
    }
    for f in &findings {
        println!("{f}");
    }
    let worst = findings.iter().map(|f| f.level).max().unwrap_or(Level::Ok);
    if worst == Level::Error || (strict && worst == Level::Warning) {
        return Err(Unsafe.into());
    }
    Ok(())
}
