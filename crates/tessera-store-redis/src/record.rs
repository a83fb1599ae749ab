//! How one session is kept in Redis.
//!
//! A session is one string value, read with one `GET`:
//!
//! ```text
//! 1SSSSSSSSSSSSIIIIIIIIIIII
//! [id,user id,created,absolute expiry,user agent,ip,amr]
//! [email,name,verified,[roles…],user created]
//! ```
//!
//! - `1` is the format version.
//! - `S…` is `last_seen_at` and `I…` `idle_expires_at`, Unix seconds as 12
//!   zero-padded digits each, so a renewal rewrites them in place
//!   (`SETRANGE` at [`TIMES_AT`]) without reading the value.
//! - Then the session's fixed facts and the user snapshot, each one line
//!   of compact JSON (which never holds a raw newline), so a snapshot update
//!   replaces everything after the second newline without parsing the rest.
//!   Arrays, not objects: the keys were a third of the bytes. Times are Unix
//!   seconds, absent strings `null`.
//!
//! Sessions written before this format are hashes of the [`LEGACY_FIELDS`];
//! they are still read, renewed and updated in place until they expire, and
//! a rotation rewrites them in this format.

use std::borrow::Cow;

use serde::Deserialize;
use tessera_core::mfa::Amr;
use tessera_core::session::{Session, SessionId};
use tessera_core::store::StoreError;
use tessera_core::token::TokenHash;
use tessera_core::user::{User, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

/// The format version, the value's first byte (as the scripts compare it).
pub const VERSION_STR: &str = "1";
const VERSION: u8 = VERSION_STR.as_bytes()[0];
/// Where the two times start (0-based, for `SETRANGE`).
pub const TIMES_AT: usize = 1;
/// Digits per time.
const TIME_DIGITS: usize = 12;
/// Version, two times, newline.
const HEAD: usize = TIMES_AT + 2 * TIME_DIGITS + 1;
/// The largest time the 12 digits hold (year 33658; `time` stops at 9999).
const TIME_MAX: i64 = 999_999_999_999;

fn backend(what: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("session record: {what}"))
}

/// The session's facts that never change while it lives, stored as a JSON
/// array in this order (no keys: a third less to store and to parse).
#[derive(Deserialize)]
struct Facts<'a> {
    id: Uuid,
    user: Uuid,
    created: i64,
    abs: i64,
    #[serde(borrow)]
    ua: Option<Cow<'a, str>>,
    #[serde(borrow)]
    ip: Option<Cow<'a, str>>,
    /// `amr`, space-separated; absent in records written before it was.
    #[serde(default, borrow)]
    amr: Option<Cow<'a, str>>,
}

/// The user as the session saw them last, rewritten when the user changes;
/// a JSON array in this order.
#[derive(Deserialize)]
struct Snapshot<'a> {
    #[serde(borrow)]
    email: Cow<'a, str>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    verified: bool,
    roles: Vec<String>,
    created: i64,
}

/// `last_seen_at` then `idle_expires_at`, as the value holds them at
/// [`TIMES_AT`].
pub fn times(last_seen_at: OffsetDateTime, idle_expires_at: OffsetDateTime) -> String {
    let clamp = |t: OffsetDateTime| t.unix_timestamp().clamp(0, TIME_MAX);
    format!(
        "{:0w$}{:0w$}",
        clamp(last_seen_at),
        clamp(idle_expires_at),
        w = TIME_DIGITS
    )
}

/// The user snapshot line: [`Snapshot`]'s fields in order.
pub fn snapshot(user: &User) -> String {
    serde_json::to_string(&(
        &user.email,
        &user.name,
        user.email_verified,
        &user.roles,
        user.created_at.unix_timestamp(),
    ))
    .unwrap_or_default()
}

pub fn encode(s: &Session) -> Vec<u8> {
    // [`Facts`]' fields in order.
    let facts = serde_json::to_string(&(
        s.id.0,
        s.user.id.0,
        s.created_at.unix_timestamp(),
        s.absolute_expires_at.unix_timestamp(),
        &s.user_agent,
        &s.ip,
        s.amr.to_field(),
    ))
    .unwrap_or_default();
    let snapshot = snapshot(&s.user);
    let mut v = Vec::with_capacity(HEAD + facts.len() + 1 + snapshot.len());
    v.push(VERSION);
    v.extend_from_slice(times(s.last_seen_at, s.idle_expires_at).as_bytes());
    v.push(b'\n');
    v.extend_from_slice(facts.as_bytes());
    v.push(b'\n');
    v.extend_from_slice(snapshot.as_bytes());
    v
}

fn at(secs: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp(secs).map_err(backend)
}

fn digits(d: &[u8]) -> Result<i64, StoreError> {
    if d.is_empty() || !d.iter().all(u8::is_ascii_digit) {
        return Err(backend("bad time"));
    }
    Ok(d.iter().fold(0_i64, |n, c| n * 10 + i64::from(c - b'0')))
}

pub fn decode(token_hash: TokenHash, v: &[u8]) -> Result<Session, StoreError> {
    if v.len() < HEAD || v[0] != VERSION || v[HEAD - 1] != b'\n' {
        return Err(backend("unknown format"));
    }
    let (seen, idle) = v[TIMES_AT..HEAD - 1].split_at(TIME_DIGITS);
    let (seen, idle) = (digits(seen)?, digits(idle)?);
    let body = &v[HEAD..];
    let split = body
        .iter()
        .position(|&c| c == b'\n')
        .ok_or_else(|| backend("no user snapshot"))?;
    let facts: Facts = serde_json::from_slice(&body[..split]).map_err(backend)?;
    let user: Snapshot = serde_json::from_slice(&body[split + 1..]).map_err(backend)?;
    Ok(Session {
        id: SessionId(facts.id),
        token_hash,
        user: User {
            id: UserId(facts.user),
            email: user.email.into_owned(),
            name: user.name.map(Cow::into_owned),
            email_verified: user.verified,
            roles: user.roles,
            created_at: at(user.created)?,
        },
        created_at: at(facts.created)?,
        last_seen_at: at(seen)?,
        idle_expires_at: at(idle)?,
        absolute_expires_at: at(facts.abs)?,
        user_agent: facts.ua.map(Cow::into_owned),
        ip: facts.ip.map(Cow::into_owned),
        amr: facts
            .amr
            .as_deref()
            .map(Amr::parse_field)
            .unwrap_or_default(),
    })
}

/// The fields of a session hash of the earlier format, in the order
/// [`decode_legacy`] reads them.
pub const LEGACY_FIELDS: [&str; 13] = [
    "id",
    "user_id",
    "email",
    "verified",
    "roles",
    "user_created",
    "created",
    "seen",
    "idle",
    "abs",
    "name",
    "ua",
    "ip",
];

/// Field `i` of [`LEGACY_FIELDS`], required.
fn field(f: &[Option<String>], i: usize) -> Result<&str, StoreError> {
    f.get(i)
        .and_then(Option::as_deref)
        .ok_or_else(|| backend(format!("lacks {}", LEGACY_FIELDS[i])))
}

fn optional(f: &[Option<String>], i: usize) -> Option<String> {
    f.get(i).cloned().flatten()
}

fn time_field(f: &[Option<String>], i: usize) -> Result<OffsetDateTime, StoreError> {
    at(field(f, i)?.parse().map_err(backend)?)
}

fn uuid_field(f: &[Option<String>], i: usize) -> Result<Uuid, StoreError> {
    Uuid::parse_str(field(f, i)?).map_err(backend)
}

/// A session hash of the earlier format, its fields in [`LEGACY_FIELDS`]
/// order (an `HMGET`).
pub fn decode_legacy(token_hash: TokenHash, f: &[Option<String>]) -> Result<Session, StoreError> {
    Ok(Session {
        id: SessionId(uuid_field(f, 0)?),
        token_hash,
        user: User {
            id: UserId(uuid_field(f, 1)?),
            email: field(f, 2)?.to_owned(),
            name: optional(f, 10),
            email_verified: field(f, 3)? == "1",
            roles: serde_json::from_str(field(f, 4)?).map_err(backend)?,
            created_at: time_field(f, 5)?,
        },
        created_at: time_field(f, 6)?,
        last_seen_at: time_field(f, 7)?,
        idle_expires_at: time_field(f, 8)?,
        absolute_expires_at: time_field(f, 9)?,
        user_agent: optional(f, 11),
        ip: optional(f, 12),
        amr: Amr::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::mfa::Method;

    fn session(name: Option<&str>, ua: Option<&str>) -> Session {
        let t = OffsetDateTime::from_unix_timestamp(1_764_000_000).unwrap();
        Session {
            id: SessionId::new(),
            token_hash: tessera_core::SessionToken::generate().hash(),
            user: User {
                id: UserId(Uuid::new_v4()),
                email: "a\"b\\c@example.com".into(),
                name: name.map(Into::into),
                email_verified: true,
                roles: vec!["admin".into(), "line\nbreak".into()],
                created_at: t,
            },
            created_at: t,
            last_seen_at: t + time::Duration::minutes(5),
            idle_expires_at: t + time::Duration::days(30),
            absolute_expires_at: t + time::Duration::days(90),
            user_agent: ua.map(Into::into),
            ip: Some("203.0.113.9".into()),
            amr: Amr::of(&[Method::Pwd, Method::Otp, Method::Mfa]),
        }
    }

    #[test]
    fn a_session_survives_the_round_trip() {
        for s in [
            session(Some("Zoë\n\"quoted\""), Some("curl/8 \u{1F600}")),
            session(None, None),
        ] {
            let v = encode(&s);
            assert_eq!(
                v.split(|&c| c == b'\n').count(),
                3,
                "three lines, whatever the strings hold"
            );
            assert_eq!(decode(s.token_hash, &v).unwrap(), s);
        }
    }

    /// Stored sessions outlive releases: a change here needs a new version
    /// byte and a read path for this one.
    #[test]
    fn the_format_is_the_documented_one() {
        let t = OffsetDateTime::from_unix_timestamp(1_764_000_000).unwrap();
        let s = Session {
            id: SessionId(Uuid::from_u128(1)),
            token_hash: TokenHash([7; 32]),
            user: User {
                id: UserId(Uuid::from_u128(2)),
                email: "ada@example.com".into(),
                name: None,
                email_verified: true,
                roles: vec!["admin".into()],
                created_at: t,
            },
            created_at: t,
            last_seen_at: t,
            idle_expires_at: t + time::Duration::seconds(60),
            absolute_expires_at: t + time::Duration::seconds(90),
            user_agent: Some("curl/8".into()),
            ip: None,
            amr: Amr::of(&[Method::Pwd]),
        };
        let expected = "1001764000000001764000060\n\
            [\"00000000-0000-0000-0000-000000000001\",\"00000000-0000-0000-0000-000000000002\",1764000000,1764000090,\"curl/8\",null,\"pwd\"]\n\
            [\"ada@example.com\",null,true,[\"admin\"],1764000000]";
        assert_eq!(String::from_utf8(encode(&s)).unwrap(), expected);
        assert_eq!(decode(s.token_hash, expected.as_bytes()).unwrap(), s);
        // Written before `amr` was recorded: six facts, read with none.
        let before = expected.replace(",null,\"pwd\"]", ",null]");
        let old = decode(s.token_hash, before.as_bytes()).unwrap();
        assert_eq!(old.amr, Amr::default());
        assert_eq!(old.user, s.user);
    }

    #[test]
    fn the_times_sit_where_a_renewal_writes_them() {
        let mut s = session(None, None);
        let mut v = encode(&s);
        s.last_seen_at += time::Duration::hours(2);
        s.idle_expires_at += time::Duration::hours(2);
        let new = times(s.last_seen_at, s.idle_expires_at);
        v[TIMES_AT..][..new.len()].copy_from_slice(new.as_bytes());
        assert_eq!(decode(s.token_hash, &v).unwrap(), s);
    }

    #[test]
    fn a_snapshot_replaces_everything_after_the_second_line_break() {
        let mut s = session(Some("old"), None);
        let v = encode(&s);
        s.user.name = None;
        s.user.roles.clear();
        s.user.email = "new@example.com".into();
        let second = v.iter().rposition(|&c| c == b'\n').unwrap();
        let mut updated = v[..=second].to_vec();
        updated.extend_from_slice(snapshot(&s.user).as_bytes());
        assert_eq!(decode(s.token_hash, &updated).unwrap(), s);
    }

    #[test]
    fn a_rotated_copy_with_a_trailing_space_reads_the_same() {
        let s = session(Some("Zoë"), None);
        let mut v = encode(&s);
        v.push(b' ');
        assert_eq!(decode(s.token_hash, &v).unwrap(), s);
    }

    #[test]
    fn damaged_values_are_errors_not_panics() {
        let s = session(Some("n"), Some("ua"));
        let v = encode(&s);
        for cut in 0..v.len() {
            assert!(decode(s.token_hash, &v[..cut]).is_err(), "cut at {cut}");
        }
        let mut wrong = v.clone();
        wrong[0] = b'2';
        assert!(decode(s.token_hash, &wrong).is_err());
        let mut sign = v;
        sign[3] = b'-';
        assert!(decode(s.token_hash, &sign).is_err());
    }
}
