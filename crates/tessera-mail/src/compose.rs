//! What each mail looks like.

use lettre::Message;
use lettre::message::{Mailbox, MultiPart};
use tessera_core::mail::{Letter, LetterKind};

/// Where the links in mails point: the Next.js app's pages, which POST
/// the token (a page load never acts).
#[derive(Clone, Debug)]
pub struct Links {
    /// The first public origin, e.g. `https://app.example.com`.
    pub origin: String,
    pub verify_path: String,
    pub reset_path: String,
    pub confirm_path: String,
}

impl Default for Links {
    fn default() -> Self {
        Self {
            origin: "http://localhost:3000".into(),
            verify_path: "/verify-email".into(),
            reset_path: "/reset-password".into(),
            confirm_path: "/confirm-email".into(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct MailConfig {
    /// In every subject and greeting (`TESSERA_APP_NAME`).
    pub app_name: String,
    /// `TESSERA_MAIL_FROM`.
    pub from: Mailbox,
    pub links: Links,
}

/// The parts of one mail before layout: every string here but `link` may
/// hold user-supplied text.
struct Draft {
    subject: String,
    /// Paragraphs before the link.
    lead: Vec<String>,
    link: Option<(String, &'static str)>,
    /// Paragraphs after the link.
    tail: Vec<String>,
}

/// Lays out a letter as a message with a plain-text and an HTML part.
pub fn compose(letter: &Letter, config: &MailConfig) -> Result<Message, lettre::error::Error> {
    let draft = draft(letter, config);
    let to: Mailbox = letter
        .to
        .parse()
        .map_err(|_| lettre::error::Error::MissingTo)?;
    Message::builder()
        .message_id(None)
        .from(config.from.clone())
        .to(to)
        .subject(&draft.subject)
        .multipart(MultiPart::alternative_plain_html(
            text(&draft),
            html(&draft),
        ))
}

/// What the letter says, in the configured words and links.
fn draft(letter: &Letter, config: &MailConfig) -> Draft {
    let app = &config.app_name;
    let links = &config.links;
    let link = |path: &str, token: &tessera_core::SessionToken| {
        format!("{}{}?token={}", links.origin, path, token.expose())
    };
    let greeting = match &letter.name {
        Some(name) => format!("Hello {name},"),
        None => "Hello,".to_owned(),
    };
    match &letter.kind {
        LetterKind::Verify { token } => Draft {
            subject: format!("{app}: verify your email address"),
            lead: vec![
                greeting,
                format!(
                    "Please confirm that {} is your address for your {app} account. The link works once, for 24 hours.",
                    letter.to
                ),
            ],
            link: Some((link(&links.verify_path, token), "Verify my address")),
            tail: vec![format!(
                "If you did not sign up for {app}, ignore this mail: nothing happens without the link."
            )],
        },
        LetterKind::Reset { token } => Draft {
            subject: format!("{app}: reset your password"),
            lead: vec![
                greeting,
                format!(
                    "Someone asked to reset the password of your {app} account. The link sets a new password; it works once, for 30 minutes, and signs you out everywhere else."
                ),
            ],
            link: Some((link(&links.reset_path, token), "Choose a new password")),
            tail: vec![
                "If you did not ask for this, ignore this mail: your password stays as it is."
                    .to_owned(),
            ],
        },
        LetterKind::ChangeEmail { token, new_address } => Draft {
            subject: format!("{app}: confirm your new email address"),
            lead: vec![
                greeting,
                format!(
                    "Someone asked to move your {app} account to this address ({new_address}). The link confirms it; it works once, for 1 hour."
                ),
            ],
            link: Some((link(&links.confirm_path, token), "Confirm my new address")),
            tail: vec![
                "If you did not ask for this, ignore this mail: nothing changes without the link."
                    .to_owned(),
            ],
        },
        LetterKind::ChangeNotice { new_address } => Draft {
            subject: format!("{app}: your email address is being changed"),
            lead: vec![
                greeting,
                format!(
                    "Someone signed in to your {app} account asked to change its address from {} to {new_address}. It changes only once the link mailed to the new address is followed.",
                    letter.to
                ),
            ],
            link: None,
            tail: vec![format!(
                "If this was not you, change your password now and sign out your other devices from your {app} account page; if you can no longer sign in, use \"Forgot password\"."
            )],
        },
    }
}

fn text(d: &Draft) -> String {
    let mut out = d.lead.join("\n\n");
    if let Some((url, _)) = &d.link {
        out.push_str("\n\n");
        out.push_str(url);
    }
    for p in &d.tail {
        out.push_str("\n\n");
        out.push_str(p);
    }
    out.push('\n');
    out
}

fn html(d: &Draft) -> String {
    use html_escape::{encode_double_quoted_attribute, encode_text};
    use std::fmt::Write;
    let mut out = String::from(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><meta name=\"referrer\" content=\"no-referrer\"></head><body>\n",
    );
    for p in &d.lead {
        let _ = writeln!(out, "<p>{}</p>", encode_text(p));
    }
    if let Some((url, label)) = &d.link {
        let _ = writeln!(
            out,
            "<p><a href=\"{}\" rel=\"noreferrer\">{}</a></p>\n<p>Or paste this into your browser: {}</p>",
            encode_double_quoted_attribute(url),
            encode_text(label),
            encode_text(url),
        );
    }
    for p in &d.tail {
        let _ = writeln!(out, "<p>{}</p>", encode_text(p));
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::SessionToken;

    fn config() -> MailConfig {
        MailConfig {
            app_name: "Acme <Shop>".into(),
            from: "Acme <no-reply@example.com>".parse().unwrap(),
            links: Links::default(),
        }
    }

    fn formatted(letter: &Letter) -> String {
        String::from_utf8(compose(letter, &config()).unwrap().formatted()).unwrap()
    }

    #[test]
    fn a_reset_mail_has_both_parts_the_link_and_what_to_do_if_unasked() {
        let token = SessionToken::generate();
        let expected = format!(
            "http://localhost:3000/reset-password?token={}",
            token.expose()
        );
        let letter = Letter {
            to: "ada@example.com".into(),
            name: None,
            kind: LetterKind::Reset { token },
        };
        let mail = formatted(&letter);
        assert!(mail.contains("multipart/alternative"), "{mail}");
        assert!(mail.contains("text/plain") && mail.contains("text/html"));
        assert!(mail.contains("Subject: Acme <Shop>: reset your password"));
        assert!(mail.contains("Message-ID: <"), "{mail}");
        // The parts as written, before quoted-printable wraps them.
        let draft = draft(&letter, &config());
        assert!(text(&draft).contains(&expected));
        assert!(html(&draft).contains(&format!("href=\"{expected}\"")));
        assert!(text(&draft).contains("If you did not ask for this, ignore this mail"));
    }

    #[test]
    fn user_supplied_values_are_escaped_in_the_html_part() {
        let letter = Letter {
            to: "ada@example.com".into(),
            name: Some("<script>alert(1)</script> & \"co\"".into()),
            kind: LetterKind::ChangeNotice {
                new_address: "x\"><img src=x>@example.com".into(),
            },
        };
        let page = html(&draft(&letter, &config()));
        assert!(!page.contains("<script>"), "{page}");
        assert!(!page.contains("<img"), "{page}");
        assert!(!page.contains("<Shop>"), "{page}");
        assert!(
            page.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp;"),
            "{page}"
        );
        // The plain-text part carries them as they are.
        assert!(text(&draft(&letter, &config())).contains("<script>"));
        assert!(compose(&letter, &config()).is_ok());
    }
}
