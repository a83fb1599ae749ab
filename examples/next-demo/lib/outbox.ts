import "server-only";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import PostalMime, { type Address } from "postal-mime";

/** One mail tessera wrote to its outbox, as the dev outbox page shows it. */
export interface OutboxMail {
  file: string;
  subject: string;
  to: string;
  /** ISO 8601 when the Date header parses, else the file's modification time. */
  date: string;
  text: string;
}

/** The most mails the page lists: the newest, so a long-lived data dir stays cheap to show. */
const MAX_MAILS = 50;

function addresses(list: Address[] | undefined): string {
  return (list ?? [])
    .flatMap((entry) => (entry.group ? entry.group : [entry]))
    .map((mailbox) => mailbox.address || mailbox.name)
    .join(", ");
}

/**
 * The `.eml` files in `dir`, newest first. tessera writes one per mail when
 * no SMTP server is configured (the embedded default). Parsed with
 * postal-mime: the plain-text part, decoded from whatever transfer encoding
 * tessera chose.
 */
export async function readOutbox(dir: string): Promise<OutboxMail[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => name.endsWith(".eml"));
  } catch (error) {
    // No mail sent yet: tessera creates the directory with the first one.
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const files = await Promise.all(names.map(async (name) => ({ name, modified: (await stat(join(dir, name))).mtime })));
  files.sort((a, b) => b.modified.getTime() - a.modified.getTime() || b.name.localeCompare(a.name));
  return Promise.all(
    files.slice(0, MAX_MAILS).map(async ({ name, modified }) => {
      const mail = await PostalMime.parse(await readFile(join(dir, name)));
      const date = mail.date && !Number.isNaN(Date.parse(mail.date)) ? new Date(mail.date).toISOString() : modified.toISOString();
      return { file: name, subject: mail.subject ?? "(no subject)", to: addresses(mail.to), date, text: mail.text ?? "" };
    }),
  );
}

/** Splits plain text into text and http(s) URLs, so a page can make the URLs links. */
export function splitLinks(text: string): { text: string; href?: string }[] {
  const parts: { text: string; href?: string }[] = [];
  let last = 0;
  for (const match of text.matchAll(/https?:\/\/[^\s<>"]+/g)) {
    const start = match.index;
    if (start > last) parts.push({ text: text.slice(last, start) });
    parts.push({ text: match[0], href: match[0] });
    last = start + match[0].length;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  return parts;
}
