//! `tessera copy`: every table of one tessera database into another,
//! SQLite to PostgreSQL or back, without signing anyone out.
//!
//! Nothing here names a table. The tables, their columns, keys and foreign
//! keys are read from the two schemas (SQLite: `sqlite_master` and the
//! `pragma_*` table functions; PostgreSQL: `information_schema` and
//! `pg_catalog`), so a table a later migration adds is copied too. Only
//! sqlx's `_sqlx_migrations` is left alone: the target gets its own by
//! being migrated with this binary's migrations first, and the copy is
//! refused unless the source has applied exactly the same ones.
//!
//! Parents are copied before children (the order comes from the target's
//! foreign keys). Each value is converted by the target column's type:
//! integers, text and bytes as they are, booleans from and to SQLite's
//! integer 0/1, PostgreSQL's JSON, JSONB, UUID and INET from and to text. The source is read in one read-only transaction, so the
//! copy is one consistent snapshot of it; the target is written in
//! multi-row `INSERT`s of up to [`CopyOptions::batch_rows`] rows, each
//! committed by itself, so an interrupted copy keeps what it wrote.
//!
//! A target that holds any row is refused unless [`CopyOptions::resume`]:
//! then every `INSERT` has `ON CONFLICT DO NOTHING`, so an interrupted copy
//! finishes and a repeated one changes nothing. That needs a primary key or
//! a unique constraint on every table, which is checked before anything is
//! written.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures_util::{Stream, TryStreamExt};
use sqlx::postgres::PgRow;
use sqlx::query::Query;
use sqlx::sqlite::SqliteRow;
use sqlx::{Database, Encode, Postgres, Row, Sqlite, Transaction, Type, TypeInfo, ValueRef};

use crate::db::SqlDb;
use crate::{PgSettings, PgStore, SqliteStore};

/// Why a copy was refused or failed, said for the person running it.
#[derive(Debug)]
pub struct CopyError(String);

impl fmt::Display for CopyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CopyError {}

fn fail(message: impl Into<String>) -> CopyError {
    CopyError(message.into())
}

/// One end of a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL.
    Postgres(String),
}

impl Endpoint {
    /// `sqlite:///abs/path.db`, `sqlite://relative.db` (or `sqlite:path`),
    /// a plain file path, or `postgres://…` / `postgresql://…`.
    pub fn parse(url: &str) -> Result<Self, CopyError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let rest = rest.strip_prefix("//").unwrap_or(rest);
            let path = rest.split('?').next().unwrap_or_default();
            if path.is_empty() || path == ":memory:" {
                return Err(fail(format!(
                    "{url:?} names no SQLite file: use sqlite:///absolute/path/tessera.db"
                )));
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if let Some((scheme, _)) = url.split_once("://") {
            return Err(fail(format!(
                "unsupported database URL scheme {scheme:?}: use sqlite:///path/tessera.db, \
                 a file path, or postgres://…"
            )));
        }
        if url.is_empty() {
            return Err(fail("an empty database URL"));
        }
        Ok(Self::Sqlite(PathBuf::from(url)))
    }
}

/// Shown without the password.
impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "SQLite {}", path.display()),
            Self::Postgres(url) => write!(f, "PostgreSQL {}", redact(url)),
        }
    }
}

/// A PostgreSQL URL without its password and query (which may hold one).
fn redact(url: &str) -> String {
    let url = url.split('?').next().unwrap_or_default();
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{path}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// How to copy.
#[derive(Debug, Clone, Copy)]
pub struct CopyOptions {
    /// Copy into a target that already holds rows, keeping them: rows the
    /// target has (by any primary key or unique constraint) are skipped.
    pub resume: bool,
    /// Rows per `INSERT` (fewer when a table has so many columns that the
    /// statement would pass the database's limit on parameters).
    pub batch_rows: usize,
}

impl Default for CopyOptions {
    fn default() -> Self {
        Self {
            resume: false,
            batch_rows: 1000,
        }
    }
}

/// What the copy did to one table.
#[derive(Debug, Clone)]
pub struct TableCopied {
    pub table: String,
    /// Rows in the source.
    pub read: u64,
    /// Rows written to the target (fewer than `read` on a resumed copy:
    /// the rest were there).
    pub inserted: u64,
    /// On a resumed copy, the target's rows afterwards: more than `read`
    /// means the target has rows the source does not (a tessera served
    /// from it, with its own keys and secrets, which were kept).
    pub target_rows: Option<u64>,
    pub elapsed: Duration,
}

/// What the copy found before writing anything.
#[derive(Debug, Clone)]
pub struct CopyPlan {
    /// The migrations both databases have applied: `(version, description)`.
    pub migrations: Vec<(i64, String)>,
    /// The tables, in the order they are copied (parents first).
    pub tables: Vec<String>,
}

/// Copies every table of `from` into `to` (see the module docs): migrates
/// the target, checks both are at the same migrations, refuses a non-empty
/// target unless resuming, then copies table by table, parents first.
/// `plan` is called once before the first row is written, `progress` after
/// each table.
pub async fn copy(
    from: &str,
    to: &str,
    options: CopyOptions,
    plan: impl FnOnce(&CopyPlan),
    mut progress: impl FnMut(&TableCopied),
) -> Result<Vec<TableCopied>, CopyError> {
    let (from, to) = (Endpoint::parse(from)?, Endpoint::parse(to)?);
    if same_database(&from, &to) {
        return Err(fail("the source and the target are the same database"));
    }
    let source = Db::open(&from, true).await?;
    let target = Db::open(&to, false).await?;
    let result = run(&source, &target, &from, &to, options, plan, &mut progress).await;
    source.close().await;
    target.close().await;
    result
}

fn same_database(a: &Endpoint, b: &Endpoint) -> bool {
    match (a, b) {
        (Endpoint::Sqlite(a), Endpoint::Sqlite(b)) => {
            a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
        }
        (Endpoint::Postgres(a), Endpoint::Postgres(b)) => a == b,
        _ => false,
    }
}

async fn run(
    source: &Db,
    target: &Db,
    from: &Endpoint,
    to: &Endpoint,
    options: CopyOptions,
    plan: impl FnOnce(&CopyPlan),
    progress: &mut impl FnMut(&TableCopied),
) -> Result<Vec<TableCopied>, CopyError> {
    let applied = source.migrations().await.map_err(|e| {
        fail(format!(
            "{from} does not look like a tessera database (no migrations table: {e})"
        ))
    })?;
    if applied.is_empty() {
        return Err(fail(format!(
            "{from} is not a tessera database: no migrations applied"
        )));
    }
    target
        .migrate()
        .await
        .map_err(|e| fail(format!("migrating the target {to}: {e}")))?;
    let expected = target
        .migrations()
        .await
        .map_err(|e| fail(format!("reading the target's migrations: {e}")))?;
    same_migrations(&applied, &expected)?;

    let source_schema = source.schema().await?;
    let target_schema = target.schema().await?;
    let tables = plan_tables(&source_schema, &target_schema)?;

    let mut held = Vec::new();
    for t in &tables {
        let n = target
            .count(&t.name)
            .await
            .map_err(|e| fail(format!("reading the target's {}: {e}", t.name)))?;
        if n > 0 {
            held.push(format!("{}: {n}", t.name));
        }
    }
    if !held.is_empty() && !options.resume {
        return Err(fail(format!(
            "the target {to} already holds rows ({}). Copy into a database no tessera has \
             served from; or, to finish an interrupted copy (or repeat one), add --resume: \
             rows the target has are kept as they are and only the missing ones are copied",
            held.join(", ")
        )));
    }

    plan(&CopyPlan {
        migrations: applied.into_iter().collect(),
        tables: tables.iter().map(|t| t.name.clone()).collect(),
    });
    let mut snapshot = source.snapshot().await?;
    let mut done = Vec::new();
    for table in &tables {
        let copied = copy_table(&mut snapshot, target, table, options).await?;
        progress(&copied);
        done.push(copied);
    }
    snapshot.end().await;
    Ok(done)
}

fn same_migrations(
    source: &BTreeMap<i64, String>,
    target: &BTreeMap<i64, String>,
) -> Result<(), CopyError> {
    let list = |m: &BTreeMap<i64, String>, other: &BTreeMap<i64, String>| {
        m.iter()
            .filter(|(v, _)| !other.contains_key(v))
            .map(|(v, d)| format!("{v:04} ({d})"))
            .collect::<Vec<_>>()
    };
    let missing = list(target, source);
    let unknown = list(source, target);
    if !unknown.is_empty() {
        return Err(fail(format!(
            "the source has applied migrations this tessera does not have: {}. Copy with the \
             tessera version that serves the source",
            unknown.join(", ")
        )));
    }
    if !missing.is_empty() {
        return Err(fail(format!(
            "the source has not applied migrations {}: run `tessera migrate` on it first \
             (with TESSERA_DATABASE_URL set to the source), so both are the same version",
            missing.join(", ")
        )));
    }
    Ok(())
}

/// A column type, as far as the copy is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Text,
    Bytes,
    Bool,
    /// A SQLite column with no declared type: takes any value.
    Any,
}

impl Kind {
    fn of_sqlite(declared: &str) -> Option<Self> {
        let d = declared.to_ascii_uppercase();
        if d.is_empty() || d == "ANY" {
            Some(Self::Any)
        } else if d.contains("INT") || d.contains("BOOL") {
            Some(Self::Int)
        } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
            Some(Self::Text)
        } else if d.contains("BLOB") {
            Some(Self::Bytes)
        } else {
            None
        }
    }

    fn of_postgres(data_type: &str) -> Option<Self> {
        match data_type {
            "bigint" | "integer" | "smallint" => Some(Self::Int),
            "text" | "character varying" | "character" | "json" | "jsonb" | "uuid" | "inet" => {
                Some(Self::Text)
            }
            "bytea" => Some(Self::Bytes),
            "boolean" => Some(Self::Bool),
            _ => None,
        }
    }

    /// PostgreSQL types written as text and cast by the server (their
    /// parameter is sent as text).
    fn postgres_cast(data_type: &str) -> Option<&'static str> {
        match data_type {
            "json" => Some("JSON"),
            "jsonb" => Some("JSONB"),
            "uuid" => Some("UUID"),
            "inet" => Some("INET"),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Int => "integer",
            Self::Text => "text",
            Self::Bytes => "bytes",
            Self::Bool => "boolean",
            Self::Any => "any",
        }
    }
}

#[derive(Debug, Clone)]
struct Column {
    name: String,
    /// `None`: a type the copy does not handle (`declared` says which).
    kind: Option<Kind>,
    declared: String,
    /// PostgreSQL: filled from a sequence (serial or identity), which must
    /// be moved past the copied values.
    serial: bool,
    /// PostgreSQL: the cast a text parameter needs to become this type.
    cast: Option<&'static str>,
}

#[derive(Debug, Clone)]
struct Table {
    columns: Vec<Column>,
    /// Has a primary key or a unique constraint.
    keyed: bool,
    /// Tables its foreign keys point at.
    parents: BTreeSet<String>,
}

type Schema = BTreeMap<String, Table>;

/// One table to copy: the target's columns, with each one's kind at both
/// ends.
#[derive(Debug)]
struct TablePlan {
    name: String,
    columns: Vec<String>,
    source_kinds: Vec<Kind>,
    target_kinds: Vec<Kind>,
    target_casts: Vec<Option<&'static str>>,
    serial: Vec<String>,
}

fn plan_tables(source: &Schema, target: &Schema) -> Result<Vec<TablePlan>, CopyError> {
    let only = |a: &Schema, b: &Schema| {
        a.keys()
            .filter(|t| !b.contains_key(*t))
            .cloned()
            .collect::<Vec<_>>()
    };
    let (source_only, target_only) = (only(source, target), only(target, source));
    if !source_only.is_empty() || !target_only.is_empty() {
        return Err(fail(format!(
            "the schemas differ although the migrations match: tables only in the source: \
             [{}], only in the target: [{}]",
            source_only.join(", "),
            target_only.join(", ")
        )));
    }
    let unkeyed: Vec<&str> = target
        .iter()
        .filter(|(_, t)| !t.keyed)
        .map(|(n, _)| n.as_str())
        .collect();
    if !unkeyed.is_empty() {
        return Err(fail(format!(
            "tables without a primary key or unique constraint: {}. The copy needs one on \
             every table to be resumable (ON CONFLICT DO NOTHING finds the rows already there \
             by it); add one in a migration",
            unkeyed.join(", ")
        )));
    }
    let mut plans = Vec::new();
    for name in order(target) {
        let (s, t) = (&source[&name], &target[&name]);
        let mut plan = TablePlan {
            name: name.clone(),
            columns: Vec::new(),
            source_kinds: Vec::new(),
            target_kinds: Vec::new(),
            target_casts: Vec::new(),
            serial: Vec::new(),
        };
        let unsupported = |c: &Column, side: &str| {
            fail(format!(
                "{name}.{} has type {:?} in the {side}, which the copy does not handle \
                 (integers, text, bytes and booleans)",
                c.name, c.declared
            ))
        };
        for tc in &t.columns {
            let sc = s
                .columns
                .iter()
                .find(|c| c.name == tc.name)
                .ok_or_else(|| {
                    fail(format!(
                        "{name}.{} is in the target but not in the source",
                        tc.name
                    ))
                })?;
            plan.columns.push(tc.name.clone());
            plan.source_kinds
                .push(sc.kind.ok_or_else(|| unsupported(sc, "source"))?);
            plan.target_casts.push(tc.cast);
            plan.target_kinds
                .push(tc.kind.ok_or_else(|| unsupported(tc, "target"))?);
            if tc.serial {
                plan.serial.push(tc.name.clone());
            }
        }
        if let Some(extra) = s
            .columns
            .iter()
            .find(|c| !t.columns.iter().any(|tc| tc.name == c.name))
        {
            return Err(fail(format!(
                "{name}.{} is in the source but not in the target",
                extra.name
            )));
        }
        plans.push(plan);
    }
    Ok(plans)
}

/// Parents before children (by foreign keys), otherwise by name. A cycle
/// (none today) is broken at its first table by name; the database then
/// says which row could not go in.
fn order(schema: &Schema) -> Vec<String> {
    let mut waiting: BTreeMap<&str, BTreeSet<&str>> = schema
        .iter()
        .map(|(name, t)| {
            let parents = t
                .parents
                .iter()
                .map(String::as_str)
                .filter(|p| p != name && schema.contains_key(*p))
                .collect();
            (name.as_str(), parents)
        })
        .collect();
    let mut out = Vec::new();
    while let Some(first) = waiting.keys().next().copied() {
        let mut ready: Vec<&str> = waiting
            .iter()
            .filter(|(_, parents)| parents.is_empty())
            .map(|(name, _)| *name)
            .collect();
        if ready.is_empty() {
            ready.push(first);
        }
        for name in ready {
            waiting.remove(name);
            for parents in waiting.values_mut() {
                parents.remove(name);
            }
            out.push(name.to_owned());
        }
    }
    out
}

/// `"name"`, as both databases quote identifiers.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A value on its way from one database to the other; a null keeps the
/// kind it is bound as.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null(Kind),
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
    Bool(bool),
}

impl Value {
    fn kind(&self) -> Kind {
        match self {
            Self::Null(k) => *k,
            Self::Int(_) => Kind::Int,
            Self::Text(_) => Kind::Text,
            Self::Bytes(_) => Kind::Bytes,
            Self::Bool(_) => Kind::Bool,
        }
    }

    /// The value for a target column of kind `to`.
    fn convert(self, to: Kind) -> Result<Self, String> {
        Ok(match (self, to) {
            (Self::Null(_), k) => Self::Null(k),
            (v, Kind::Any) => v,
            (v, k) if v.kind() == k => v,
            (Self::Int(0), Kind::Bool) => Self::Bool(false),
            (Self::Int(1), Kind::Bool) => Self::Bool(true),
            (Self::Bool(b), Kind::Int) => Self::Int(i64::from(b)),
            (Self::Int(i), Kind::Bool) => {
                return Err(format!("{i} is not a boolean (0 or 1)"));
            }
            (v, k) => {
                return Err(format!(
                    "a {} value for a {} column",
                    v.kind().name(),
                    k.name()
                ));
            }
        })
    }
}

/// A SQLite value, by its storage class (which a STRICT table makes the
/// declared type).
fn read_sqlite(row: &SqliteRow, i: usize, _: Kind) -> Result<Value, String> {
    let raw = row.try_get_raw(i).map_err(|e| e.to_string())?;
    if raw.is_null() {
        return Ok(Value::Null(Kind::Any));
    }
    let class = raw.type_info().name().to_owned();
    let get = |e: sqlx::Error| e.to_string();
    Ok(match class.as_str() {
        "INTEGER" => Value::Int(row.try_get(i).map_err(get)?),
        "TEXT" => Value::Text(row.try_get(i).map_err(get)?),
        "BLOB" => Value::Bytes(row.try_get(i).map_err(get)?),
        other => return Err(format!("a {other} value, which the copy does not handle")),
    })
}

/// A PostgreSQL value, by its column's kind (integers are read as BIGINT
/// and text as TEXT: the SELECT casts them).
fn read_postgres(row: &PgRow, i: usize, kind: Kind) -> Result<Value, String> {
    let get = |e: sqlx::Error| e.to_string();
    let null = Value::Null(Kind::Any);
    Ok(match kind {
        Kind::Int => row
            .try_get::<Option<i64>, _>(i)
            .map_err(get)?
            .map_or(null, Value::Int),
        Kind::Text | Kind::Any => row
            .try_get::<Option<String>, _>(i)
            .map_err(get)?
            .map_or(null, Value::Text),
        Kind::Bytes => row
            .try_get::<Option<Vec<u8>>, _>(i)
            .map_err(get)?
            .map_or(null, Value::Bytes),
        Kind::Bool => row
            .try_get::<Option<bool>, _>(i)
            .map_err(get)?
            .map_or(null, Value::Bool),
    })
}

fn bind<'q, DB: Database>(
    q: Query<'q, DB, DB::Arguments<'q>>,
    v: &'q Value,
) -> Query<'q, DB, DB::Arguments<'q>>
where
    Option<i64>: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
    Option<&'q [u8]>: Encode<'q, DB> + Type<DB>,
    Option<bool>: Encode<'q, DB> + Type<DB>,
{
    match v {
        Value::Int(i) => q.bind(Some(*i)),
        Value::Text(s) => q.bind(Some(s.as_str())),
        Value::Bytes(b) => q.bind(Some(b.as_slice())),
        Value::Bool(b) => q.bind(Some(*b)),
        Value::Null(Kind::Text) => q.bind(None::<&str>),
        Value::Null(Kind::Bytes) => q.bind(None::<&[u8]>),
        Value::Null(Kind::Bool) => q.bind(None::<bool>),
        Value::Null(Kind::Int | Kind::Any) => q.bind(None::<i64>),
    }
}

fn bind_rows<'q, DB: Database>(
    mut q: Query<'q, DB, DB::Arguments<'q>>,
    rows: &'q [Vec<Value>],
) -> Query<'q, DB, DB::Arguments<'q>>
where
    Option<i64>: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
    Option<&'q [u8]>: Encode<'q, DB> + Type<DB>,
    Option<bool>: Encode<'q, DB> + Type<DB>,
{
    for v in rows.iter().flatten() {
        q = bind(q, v);
    }
    q
}

/// One end, opened for the copy.
enum Db {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl Db {
    async fn open(end: &Endpoint, must_exist: bool) -> Result<Self, CopyError> {
        match end {
            Endpoint::Sqlite(path) => {
                if must_exist && !path.is_file() {
                    return Err(fail(format!("no SQLite database at {}", path.display())));
                }
                SqliteStore::open(path)
                    .await
                    .map(Self::Sqlite)
                    .map_err(|e| fail(format!("opening {end}: {e}")))
            }
            Endpoint::Postgres(url) => {
                // No statement timeout: reading a large table is one long
                // statement.
                let settings = PgSettings {
                    max_connections: 2,
                    acquire_timeout: Duration::from_secs(10),
                    statement_timeout: Duration::ZERO,
                };
                let pg = PgStore::connect_lazy(url, settings)
                    .map_err(|e| fail(format!("{end}: {e}")))?;
                pg.pool
                    .acquire()
                    .await
                    .map_err(|e| fail(format!("connecting to {end}: {e}")))?;
                Ok(Self::Postgres(pg))
            }
        }
    }

    async fn close(&self) {
        match self {
            Self::Sqlite(s) => s.close().await,
            Self::Postgres(p) => p.close().await,
        }
    }

    async fn migrate(&self) -> Result<(), tessera_core::store::StoreError> {
        match self {
            Self::Sqlite(s) => s.migrate().await,
            Self::Postgres(p) => p.migrate().await,
        }
    }

    async fn migrations(&self) -> Result<BTreeMap<i64, String>, sqlx::Error> {
        const SQL: &str =
            "SELECT version, description FROM _sqlx_migrations WHERE success ORDER BY version";
        let rows: Vec<(i64, String)> = match self {
            Self::Sqlite(s) => sqlx::query_as(SQL).fetch_all(&s.pool).await?,
            Self::Postgres(p) => sqlx::query_as(SQL).fetch_all(&p.pool).await?,
        };
        Ok(rows.into_iter().collect())
    }

    async fn schema(&self) -> Result<Schema, CopyError> {
        match self {
            Self::Sqlite(s) => read_schema(&s.pool, &SQLITE).await,
            Self::Postgres(p) => read_schema(&p.pool, &POSTGRES).await,
        }
        .map_err(|e| fail(format!("reading the schema: {e}")))
    }

    async fn count(&self, table: &str) -> Result<i64, sqlx::Error> {
        let sql = format!("SELECT count(*) FROM {}", quote(table));
        match self {
            Self::Sqlite(s) => sqlx::query_scalar(&sql).fetch_one(&s.pool).await,
            Self::Postgres(p) => sqlx::query_scalar(&sql).fetch_one(&p.pool).await,
        }
    }

    /// The source, as one consistent read-only snapshot.
    async fn snapshot(&self) -> Result<Snapshot, CopyError> {
        let e = |e: sqlx::Error| fail(format!("starting to read the source: {e}"));
        Ok(match self {
            Self::Sqlite(s) => Snapshot::Sqlite(s.pool.begin().await.map_err(e)?),
            Self::Postgres(p) => {
                let mut tx = p.pool.begin().await.map_err(e)?;
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .execute(&mut *tx)
                    .await
                    .map_err(e)?;
                Snapshot::Postgres(tx)
            }
        })
    }

    /// Parameters one statement may bind (SQLite's limit is 32 766,
    /// PostgreSQL's 65 535).
    fn max_params(&self) -> usize {
        match self {
            Self::Sqlite(_) => 32_000,
            Self::Postgres(_) => 65_000,
        }
    }

    fn insert_sql(&self, table: &TablePlan, rows: usize, resume: bool) -> String {
        let columns: Vec<String> = table.columns.iter().map(|c| quote(c)).collect();
        let mut sql = format!(
            "INSERT INTO {} ({})",
            quote(&table.name),
            columns.join(", ")
        );
        if let Self::Postgres(_) = self {
            // Values for identity columns are taken as given.
            sql.push_str(" OVERRIDING SYSTEM VALUE");
        }
        sql.push_str(" VALUES ");
        let n = table.columns.len();
        for r in 0..rows {
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for c in 0..n {
                if c > 0 {
                    sql.push(',');
                }
                match self {
                    Self::Sqlite(_) => sql.push('?'),
                    Self::Postgres(_) => {
                        let _ = write!(sql, "${}", r * n + c + 1);
                        if let Some(cast) = table.target_casts[c] {
                            let _ = write!(sql, "::{cast}");
                        }
                    }
                }
            }
            sql.push(')');
        }
        if resume {
            sql.push_str(" ON CONFLICT DO NOTHING");
        }
        sql
    }

    async fn insert(&self, sql: &str, rows: &[Vec<Value>]) -> Result<u64, sqlx::Error> {
        Ok(match self {
            Self::Sqlite(s) => bind_rows(sqlx::query(sql), rows)
                .execute(&s.pool)
                .await?
                .rows_affected(),
            Self::Postgres(p) => bind_rows(sqlx::query(sql), rows)
                .execute(&p.pool)
                .await?
                .rows_affected(),
        })
    }

    /// PostgreSQL: moves each sequence past the copied values, so the next
    /// generated id is new. (SQLite's rowids and AUTOINCREMENT follow the
    /// largest value by themselves.)
    async fn after_table(&self, table: &TablePlan) -> Result<(), sqlx::Error> {
        let Self::Postgres(p) = self else {
            return Ok(());
        };
        for column in &table.serial {
            let sql = format!(
                "SELECT setval(pg_get_serial_sequence(format('%I', $1::TEXT), $2), m) \
                 FROM (SELECT max({}) AS m FROM {}) s WHERE m IS NOT NULL",
                quote(column),
                quote(&table.name)
            );
            sqlx::query(&sql)
                .bind(&table.name)
                .bind(column)
                .execute(&p.pool)
                .await?;
        }
        Ok(())
    }
}

/// Where a database's catalogue says what the copy needs: each query
/// answers with the columns named here; those about one table take its
/// name as the one parameter.
struct Catalogue {
    /// `name` of every table but sqlx's.
    tables: &'static str,
    /// `name`, `type` and `serial` of each column, in order.
    columns: &'static str,
    /// `keyed`: a primary key or a unique index.
    keyed: &'static str,
    /// `parent`: each table a foreign key points at.
    parents: &'static str,
    kind: fn(&str) -> Option<Kind>,
    cast: fn(&str) -> Option<&'static str>,
}

const SQLITE: Catalogue = Catalogue {
    tables: "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> '_sqlx_migrations'",
    // `hidden` 0: a real column (not generated, not a virtual table's).
    columns: "SELECT name, type, 0 AS serial FROM pragma_table_xinfo(?1) \
              WHERE hidden = 0 ORDER BY cid",
    keyed: "SELECT EXISTS (SELECT 1 FROM pragma_table_info(?1) WHERE pk > 0) \
            OR EXISTS (SELECT 1 FROM pragma_index_list(?1) WHERE \"unique\" = 1) AS keyed",
    parents: "SELECT DISTINCT \"table\" AS parent FROM pragma_foreign_key_list(?1)",
    kind: Kind::of_sqlite,
    cast: |_| None,
};

const POSTGRES: Catalogue = Catalogue {
    tables: "SELECT table_name::TEXT AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
             AND table_name <> '_sqlx_migrations'",
    columns: "SELECT column_name::TEXT AS name, data_type::TEXT AS type, \
              (is_identity = 'YES' OR coalesce(column_default, '') LIKE 'nextval(%') AS serial \
              FROM information_schema.columns \
              WHERE table_schema = current_schema() AND table_name = $1 \
              AND is_generated = 'NEVER' ORDER BY ordinal_position",
    keyed: "SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid \
            JOIN pg_namespace n ON n.oid = c.relnamespace \
            WHERE n.nspname = current_schema() AND c.relname = $1 AND i.indisunique) AS keyed",
    parents: "SELECT DISTINCT p.relname::TEXT AS parent FROM pg_constraint k \
              JOIN pg_class c ON c.oid = k.conrelid \
              JOIN pg_namespace n ON n.oid = c.relnamespace \
              JOIN pg_class p ON p.oid = k.confrelid \
              WHERE k.contype = 'f' AND n.nspname = current_schema() AND c.relname = $1",
    kind: Kind::of_postgres,
    cast: Kind::postgres_cast,
};

/// Every table of the database, as its catalogue describes it.
async fn read_schema<DB: SqlDb>(
    pool: &sqlx::Pool<DB>,
    catalogue: &Catalogue,
) -> Result<Schema, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let texts = |rows: Vec<DB::Row>, col: &str| {
        rows.iter()
            .map(|r| DB::get_text(r, col))
            .collect::<Result<Vec<String>, _>>()
    };
    let tables = DB::fetch_all(sqlx::query(catalogue.tables), &mut conn).await?;
    let mut schema = Schema::new();
    for name in texts(tables, "name")? {
        let about = |sql| DB::bind_text(sqlx::query(sql), &name);
        let mut columns = Vec::new();
        for row in DB::fetch_all(about(catalogue.columns), &mut conn).await? {
            let declared = DB::get_text(&row, "type")?;
            columns.push(Column {
                name: DB::get_text(&row, "name")?,
                kind: (catalogue.kind)(&declared),
                cast: (catalogue.cast)(&declared),
                serial: DB::get_bool(&row, "serial")?,
                declared,
            });
        }
        let keyed = match DB::fetch_optional(about(catalogue.keyed), &mut conn).await? {
            Some(row) => DB::get_bool(&row, "keyed")?,
            None => false,
        };
        let parents = DB::fetch_all(about(catalogue.parents), &mut conn).await?;
        let parents = texts(parents, "parent")?.into_iter().collect();
        schema.insert(
            name.clone(),
            Table {
                columns,
                keyed,
                parents,
            },
        );
    }
    Ok(schema)
}

/// The source's read transaction.
enum Snapshot {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Snapshot {
    async fn end(self) {
        // Read only: nothing to keep.
        let _ = match self {
            Self::Sqlite(tx) => tx.rollback().await,
            Self::Postgres(tx) => tx.rollback().await,
        };
    }
}

/// Rows on their way into one target table, written `per_statement` at a
/// time.
struct Batches<'a> {
    target: &'a Db,
    table: &'a TablePlan,
    resume: bool,
    per_statement: usize,
    full: String,
    rows: Vec<Vec<Value>>,
    read: u64,
    inserted: u64,
}

impl Batches<'_> {
    async fn push(&mut self, row: Vec<Value>) -> Result<(), CopyError> {
        self.rows.push(row);
        self.read += 1;
        if self.rows.len() >= self.per_statement {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), CopyError> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let partial;
        let sql = if self.rows.len() == self.per_statement {
            &self.full
        } else {
            partial = self
                .target
                .insert_sql(self.table, self.rows.len(), self.resume);
            &partial
        };
        let inserted = self.target.insert(sql, &self.rows).await.map_err(|e| {
            let hint = match &e {
                sqlx::Error::Database(d) if d.is_unique_violation() && !self.resume => {
                    " (the target got that row from elsewhere while copying: stop every \
                     tessera on it)"
                }
                _ => "",
            };
            fail(format!("writing {}: {e}{hint}", self.table.name))
        })?;
        self.inserted += inserted;
        self.rows.clear();
        Ok(())
    }

    /// Reads every row of `rows` (the source's `SELECT`), converts it
    /// column by column, and writes it.
    async fn pump<R>(
        &mut self,
        mut rows: impl Stream<Item = Result<R, sqlx::Error>> + Unpin,
        read: impl Fn(&R, usize, Kind) -> Result<Value, String>,
    ) -> Result<(), CopyError> {
        let table = self.table;
        while let Some(row) = rows
            .try_next()
            .await
            .map_err(|e| fail(format!("reading {}: {e}", table.name)))?
        {
            let mut values = Vec::with_capacity(table.columns.len());
            for (i, column) in table.columns.iter().enumerate() {
                let value = read(&row, i, table.source_kinds[i])
                    .and_then(|v| v.convert(table.target_kinds[i]))
                    .map_err(|e| fail(format!("{}.{column}: {e}", table.name)))?;
                values.push(value);
            }
            self.push(values).await?;
        }
        Ok(())
    }
}

async fn copy_table(
    snapshot: &mut Snapshot,
    target: &Db,
    table: &TablePlan,
    options: CopyOptions,
) -> Result<TableCopied, CopyError> {
    let started = Instant::now();
    let per_statement = options
        .batch_rows
        .min(target.max_params() / table.columns.len().max(1))
        .max(1);
    let mut batches = Batches {
        target,
        table,
        resume: options.resume,
        per_statement,
        full: target.insert_sql(table, per_statement, options.resume),
        rows: Vec::with_capacity(per_statement),
        read: 0,
        inserted: 0,
    };
    let select = |cast: bool| {
        let columns: Vec<String> = table
            .columns
            .iter()
            .zip(&table.source_kinds)
            .map(|(c, kind)| match (cast, kind) {
                (true, Kind::Int) => format!("{}::BIGINT", quote(c)),
                (true, Kind::Text) => format!("{}::TEXT", quote(c)),
                _ => quote(c),
            })
            .collect();
        format!("SELECT {} FROM {}", columns.join(", "), quote(&table.name))
    };
    match snapshot {
        Snapshot::Sqlite(tx) => {
            let sql = select(false);
            batches
                .pump(sqlx::query(&sql).fetch(&mut **tx), read_sqlite)
                .await?;
        }
        Snapshot::Postgres(tx) => {
            let sql = select(true);
            batches
                .pump(sqlx::query(&sql).fetch(&mut **tx), read_postgres)
                .await?;
        }
    }
    batches.flush().await?;
    target
        .after_table(table)
        .await
        .map_err(|e| fail(format!("moving {}'s id sequence: {e}", table.name)))?;
    let target_rows = if options.resume {
        let n = target
            .count(&table.name)
            .await
            .map_err(|e| fail(format!("counting {}: {e}", table.name)))?;
        Some(u64::try_from(n).unwrap_or_default())
    } else {
        None
    };
    Ok(TableCopied {
        table: table.name.clone(),
        read: batches.read,
        inserted: batches.inserted,
        target_rows,
        elapsed: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_the_right_database() {
        let sqlite = |p: &str| Ok(Endpoint::Sqlite(PathBuf::from(p)));
        assert_eq!(
            Endpoint::parse("sqlite:///var/lib/tessera/tessera.db").map_err(|e| e.0),
            sqlite("/var/lib/tessera/tessera.db")
        );
        assert_eq!(
            Endpoint::parse("sqlite://tessera.db").map_err(|e| e.0),
            sqlite("tessera.db")
        );
        assert_eq!(
            Endpoint::parse("sqlite:data/tessera.db?mode=rwc").map_err(|e| e.0),
            sqlite("data/tessera.db")
        );
        assert_eq!(
            Endpoint::parse("/srv/tessera.db").map_err(|e| e.0),
            sqlite("/srv/tessera.db")
        );
        assert_eq!(
            Endpoint::parse("postgresql://u:p@h/db").map_err(|e| e.0),
            Ok(Endpoint::Postgres("postgresql://u:p@h/db".into()))
        );
        assert!(Endpoint::parse("mysql://h/db").is_err());
        assert!(Endpoint::parse("sqlite::memory:").is_err());
        assert!(Endpoint::parse("").is_err());
    }

    #[test]
    fn passwords_are_not_shown() {
        let shown = Endpoint::parse("postgres://tessera:s3cret@db.internal:5432/tessera?x=1")
            .unwrap()
            .to_string();
        assert_eq!(
            shown,
            "PostgreSQL postgres://tessera:***@db.internal:5432/tessera"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
    }

    #[test]
    fn values_follow_the_target_column() {
        assert_eq!(Value::Int(1).convert(Kind::Bool), Ok(Value::Bool(true)));
        assert_eq!(Value::Int(0).convert(Kind::Bool), Ok(Value::Bool(false)));
        assert!(Value::Int(2).convert(Kind::Bool).is_err());
        assert_eq!(Value::Bool(true).convert(Kind::Int), Ok(Value::Int(1)));
        assert_eq!(
            Value::Null(Kind::Any).convert(Kind::Bytes),
            Ok(Value::Null(Kind::Bytes))
        );
        assert!(Value::Text("x".into()).convert(Kind::Bytes).is_err());
        assert_eq!(
            Value::Bytes(vec![1]).convert(Kind::Any),
            Ok(Value::Bytes(vec![1]))
        );
    }

    fn table(parents: &[&str]) -> Table {
        Table {
            columns: Vec::new(),
            keyed: true,
            parents: parents.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    #[test]
    fn parents_come_first() {
        let schema: Schema = [
            ("identities", table(&["users"])),
            ("refresh_tokens", table(&["refresh_families"])),
            ("refresh_families", table(&[])),
            ("users", table(&[])),
            ("zz_tree", table(&["zz_tree"])),
            ("a_b", table(&["b_a"])),
            ("b_a", table(&["a_b"])),
        ]
        .into_iter()
        .map(|(n, t)| (n.to_owned(), t))
        .collect();
        let order = order(&schema);
        let at = |n: &str| order.iter().position(|t| t == n).unwrap();
        assert!(at("users") < at("identities"));
        assert!(at("refresh_families") < at("refresh_tokens"));
        assert_eq!(order.len(), schema.len(), "{order:?}");
    }
}
