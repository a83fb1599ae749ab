//! Tessera's mail.
//!
//! The flows in `tessera-core` queue a job for each mail ([`MailJob`]) in
//! the database before they answer; [`Mailer`] takes due jobs from that
//! queue, asks the domain what each one says ([`tessera_core::Auth::letter_for`],
//! which mints the link's token just then), lays it out ([`compose`]: a
//! plain-text and an HTML part, every user-supplied value escaped) and
//! sends it ([`Transport`]: SMTP, or `.eml` files in an outbox folder when
//! no SMTP server is configured). A mail that cannot be sent stays queued
//! and is retried with backoff; one that is sent leaves the queue.
//!
//! [`MailJob`]: tessera_core::mail::MailJob

mod compose;
mod transport;
mod worker;

pub use compose::{Links, MailConfig, compose};
pub use lettre::message::Mailbox;
pub use transport::{Transport, TransportError};
pub use worker::{Mailer, Observer};
