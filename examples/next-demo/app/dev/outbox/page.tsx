import { notFound } from "next/navigation";
import { connection } from "next/server";
import { formatUtc } from "@/lib/format";
import { readOutbox, splitLinks } from "@/lib/outbox";

export const metadata = { title: "Outbox (dev) · Tessera demo", robots: { index: false } };

/**
 * The mails tessera wrote to its outbox instead of sending them (no SMTP
 * configured), so every mail flow can be tried offline. Exists only where
 * TESSERA_DEV_OUTBOX names that directory (scripts/demo.sh sets it);
 * anywhere else, production included, it is a 404. The mails hold live
 * sign-in tokens for every user: never set the variable on a shared server.
 */
export default async function OutboxPage() {
  // Read at request time: at build time the variable is not there, and the
  // page must not be prerendered as a 404 (or as a list).
  await connection();
  const dir = process.env.TESSERA_DEV_OUTBOX;
  if (!dir) notFound();
  const mails = await readOutbox(dir);
  return (
    <section>
      <h1>Outbox</h1>
      <p className="muted">
        Development only: the mails tessera wrote to <code>{dir}</code> (newest first). Links open here, in this browser.
      </p>
      {mails.length === 0 ? (
        <p data-testid="outbox-empty">No mail yet.</p>
      ) : (
        <ul className="outbox">
          {mails.map((mail) => (
            <li key={mail.file} className="panel" data-testid="outbox-mail">
              <h2>{mail.subject}</h2>
              <dl>
                <dt>To</dt>
                <dd>{mail.to}</dd>
                <dt>Date</dt>
                <dd>{formatUtc(mail.date)}</dd>
              </dl>
              <pre>
                {splitLinks(mail.text).map((part, index) =>
                  part.href ? (
                    <a key={index} href={part.href} rel="noreferrer">
                      {part.text}
                    </a>
                  ) : (
                    part.text
                  ),
                )}
              </pre>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
