//! Response bodies. Built from domain values; nothing secret has a field
//! here to leak through.

use serde::{Deserialize, Serialize};
use tessera_core::mfa::Amr;
use tessera_core::{Session, User};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// The user as answered. Borrows from the session it describes: the whoami
/// answer copies no string on its way out.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView<'a> {
    pub id: Uuid,
    #[schema(example = "ada@example.com")]
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub email_verified: bool,
    #[schema(value_type = Vec<String>)]
    pub roles: &'a [String],
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl<'a> From<&'a User> for UserView<'a> {
    fn from(u: &'a User) -> Self {
        Self {
            id: u.id.0,
            email: &u.email,
            name: u.name.as_deref(),
            email_verified: u.email_verified,
            roles: &u.roles,
            created_at: u.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the session ends if unused: the earlier of the idle and absolute expiry.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// When the session ends no matter what.
    #[serde(with = "time::serde::rfc3339")]
    pub absolute_expires_at: OffsetDateTime,
    /// How the sign-in was proven (RFC 8176): `pwd`, `otp`, `hwk`, `fed`,
    /// `mfa`.
    #[schema(value_type = Vec<String>, example = json!(["pwd", "otp", "mfa"]))]
    pub amr: Amr,
}

impl From<&Session> for SessionView {
    fn from(s: &Session) -> Self {
        Self {
            id: s.id.0,
            created_at: s.created_at,
            expires_at: s.expires_at(),
            absolute_expires_at: s.absolute_expires_at,
            amr: s.amr.clone(),
        }
    }
}

/// An [`AuthResponse`] as `application/json`: [`AuthResponse::write_json`]
/// into a buffer sized for it at once (axum's `Json` starts at 128 bytes
/// and grows twice on the way to the whoami answer's ~350).
pub fn auth_answer(value: &AuthResponse<'_>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut body = Vec::with_capacity(512);
    match value.write_json(&mut body) {
        Ok(()) => (
            [(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        Err(e) => crate::problem::ApiError::Auth(tessera_core::AuthError::Internal(format!(
            "answer not serializable: {e}"
        )))
        .into_response(),
    }
}

/// `{user, session}`: the answer of register, login and whoami.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthResponse<'a> {
    pub user: UserView<'a>,
    pub session: SessionView,
}

impl AuthResponse<'_> {
    /// Exactly the bytes `serde_json::to_writer` writes for this value (the
    /// test below compares them over arbitrary values), for fewer
    /// instructions (docs/performance.md): every session check answers this. The keys, the UUIDs
    /// and whole-second UTC timestamps (every time tessera keeps) need no
    /// escaping and are written as they are; the email, name and roles, which
    /// a user chose, go through `serde_json`. Any other timestamp goes through
    /// `time`'s RFC 3339 formatter, as the derived `Serialize` does.
    pub fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        let (user, session) = (&self.user, &self.session);
        out.extend_from_slice(br#"{"user":{"id":"#);
        push_uuid(out, user.id);
        out.extend_from_slice(br#","email":"#);
        serde_json::to_writer(&mut *out, user.email)?;
        out.extend_from_slice(br#","name":"#);
        serde_json::to_writer(&mut *out, &user.name)?;
        out.extend_from_slice(if user.email_verified {
            br#","email_verified":true,"roles":"#
        } else {
            br#","email_verified":false,"roles":"#
        });
        serde_json::to_writer(&mut *out, user.roles)?;
        out.extend_from_slice(br#","created_at":"#);
        push_time(out, user.created_at)?;
        out.extend_from_slice(br#"},"session":{"id":"#);
        push_uuid(out, session.id);
        out.extend_from_slice(br#","created_at":"#);
        push_time(out, session.created_at)?;
        out.extend_from_slice(br#","expires_at":"#);
        push_time(out, session.expires_at)?;
        out.extend_from_slice(br#","absolute_expires_at":"#);
        push_time(out, session.absolute_expires_at)?;
        out.extend_from_slice(br#","amr":"#);
        serde_json::to_writer(&mut *out, &session.amr)?;
        out.extend_from_slice(b"}}");
        Ok(())
    }
}

/// A UUID as a JSON string, hyphenated lower case (uuid's `Serialize`).
fn push_uuid(out: &mut Vec<u8>, id: Uuid) {
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    out.push(b'"');
    out.extend_from_slice(id.hyphenated().encode_lower(&mut buf).as_bytes());
    out.push(b'"');
}

/// A time as `time::serde::rfc3339` serializes it, as a JSON string.
fn push_time(out: &mut Vec<u8>, t: OffsetDateTime) -> serde_json::Result<()> {
    let (year, month, day) = t.to_calendar_date();
    match u32::try_from(year) {
        Ok(year @ 0..=9999) if t.offset().is_utc() && t.nanosecond() == 0 => {
            let (hour, minute, second) = t.to_hms();
            let digit = |n: u32| b"0123456789"[(n % 10) as usize];
            let (month, tens, ones) = (
                u8::from(month),
                |n: u8| b'0' + n / 10,
                |n: u8| b'0' + n % 10,
            );
            out.extend_from_slice(&[
                b'"',
                digit(year / 1000),
                digit(year / 100),
                digit(year / 10),
                digit(year),
                b'-',
                tens(month),
                ones(month),
                b'-',
                tens(day),
                ones(day),
                b'T',
                tens(hour),
                ones(hour),
                b':',
                tens(minute),
                ones(minute),
                b':',
                tens(second),
                ones(second),
                b'Z',
                b'"',
            ]);
            Ok(())
        }
        _ => {
            let text = t
                .format(&time::format_description::well_known::Rfc3339)
                .map_err(serde::ser::Error::custom)?;
            serde_json::to_writer(&mut *out, &text)
        }
    }
}

impl<'a> From<&'a Session> for AuthResponse<'a> {
    fn from(s: &'a Session) -> Self {
        Self {
            user: UserView::from(&s.user),
            session: SessionView::from(s),
        }
    }
}

/// One device in the session list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeviceView {
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// This is the session making the request.
    pub current: bool,
}

impl DeviceView {
    /// `current`: the session the request came with, if any.
    pub fn of(s: &Session, current: Option<tessera_core::SessionId>) -> Self {
        Self {
            id: s.id.0,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            expires_at: s.expires_at(),
            user_agent: s.user_agent.clone(),
            ip: s.ip.clone(),
            current: current == Some(s.id),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SessionList {
    pub sessions: Vec<DeviceView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Status {
    #[schema(example = "ok")]
    pub status: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::UtcOffset;

    fn any_time() -> impl Strategy<Value = OffsetDateTime> {
        // Mostly what tessera keeps (whole seconds, UTC), and the rest:
        // fractions, other offsets, years before 0 and the end of the range.
        let unix = prop_oneof![
            0i64..4_102_444_800,
            -377_705_116_800i64..253_402_300_799,
            Just(253_402_300_799i64),
            Just(-62_167_219_200i64),
        ];
        let nanos = prop_oneof![3 => Just(0u32), 1 => 0u32..1_000_000_000];
        let offset = prop_oneof![3 => Just(0i32), 1 => -86_399i32..86_400];
        (unix, nanos, offset).prop_map(|(unix, nanos, offset)| {
            let utc = OffsetDateTime::from_unix_timestamp(unix)
                .expect("in range")
                .replace_nanosecond(nanos)
                .expect("valid nanosecond");
            // At the ends of the range another offset may not fit.
            utc.checked_to_offset(UtcOffset::from_whole_seconds(offset).expect("valid offset"))
                .unwrap_or(utc)
        })
    }

    fn user_text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9.@+-]{0,24}",
            any::<String>(),
            "[\\\"\\\\\\x00-\\x1f\\u{7f}\\u{2028}\\u{2029}é😀]{0,8}",
        ]
    }

    proptest! {
        #[test]
        fn the_fast_answer_is_byte_for_byte_serdes(
            id in any::<u128>(),
            sid in any::<u128>(),
            email in user_text(),
            name in proptest::option::of(user_text()),
            email_verified in any::<bool>(),
            roles in proptest::collection::vec(user_text(), 0..4),
            times in [any_time(), any_time(), any_time(), any_time()],
            amr in proptest::collection::vec(0..5usize, 0..5),
        ) {
            use tessera_core::mfa::Method;
            let all = [Method::Pwd, Method::Otp, Method::Hwk, Method::Fed, Method::Mfa];
            let amr = Amr::of(&amr.iter().map(|i| all[*i]).collect::<Vec<_>>());
            let answer = AuthResponse {
                user: UserView {
                    id: Uuid::from_u128(id),
                    email: &email,
                    name: name.as_deref(),
                    email_verified,
                    roles: &roles,
                    created_at: times[0],
                },
                session: SessionView {
                    id: Uuid::from_u128(sid),
                    created_at: times[1],
                    expires_at: times[2],
                    absolute_expires_at: times[3],
                    amr,
                },
            };
            let mut fast = Vec::new();
            let fast = answer.write_json(&mut fast).map(|()| fast);
            let serde = serde_json::to_vec(&answer);
            match (fast, serde) {
                (Ok(fast), Ok(serde)) => prop_assert_eq!(
                    String::from_utf8(fast).expect("UTF-8"),
                    String::from_utf8(serde).expect("UTF-8")
                ),
                (Err(_), Err(_)) => {}
                (fast, serde) => prop_assert!(false, "fast {:?}, serde {:?}", fast.is_ok(), serde.is_ok()),
            }
        }
    }

    #[test]
    fn a_whole_second_utc_time_reads_as_rfc3339_with_z() {
        let mut out = Vec::new();
        push_time(&mut out, time::macros::datetime!(2026-03-04 05:06:07 UTC)).unwrap();
        assert_eq!(out, br#""2026-03-04T05:06:07Z""#);
    }
}

/// `{user}`: the answer of the account flows that change the user but
/// start no session (verify, email change, profile; sign-up awaiting
/// verification).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse<'a> {
    pub user: UserView<'a>,
}

impl UserResponse<'_> {
    pub fn answer(user: &User, status: axum::http::StatusCode) -> axum::response::Response {
        use axum::response::IntoResponse;
        (
            status,
            axum::Json(UserResponse {
                user: UserView::from(user),
            }),
        )
            .into_response()
    }
}
