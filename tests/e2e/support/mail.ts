import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import PostalMime, { type Address } from "postal-mime";
import { expect } from "@playwright/test";
import { ENVELOPE_TO_HEADER } from "./mail-server.js";

/** A message the test SMTP server received from tessera, parsed as a mail client would. */
export interface ReceivedMail {
  file: string;
  /** The SMTP envelope's recipients (RCPT TO), lower-cased. */
  envelopeTo: string[];
  /** The To header's addresses, lower-cased. */
  to: string[];
  from: string;
  subject: string;
  text: string;
  html: string | undefined;
  /** The top-level Content-Type header. */
  contentType: string;
}

function mailDir(): string {
  const value = process.env.E2E_MAIL_DIR;
  if (!value) throw new Error("E2E_MAIL_DIR is not set: run through playwright.config.ts (global setup)");
  return value;
}

function addresses(list: Address[] | undefined): string[] {
  return (list ?? []).flatMap((entry) => (entry.group ? entry.group : [entry])).map((mailbox) => mailbox.address.toLowerCase());
}

async function readMail(file: string): Promise<ReceivedMail> {
  const mail = await PostalMime.parse(await readFile(join(mailDir(), file)));
  const header = (key: string) => mail.headers.find((h) => h.key === key.toLowerCase())?.value ?? "";
  return {
    file,
    envelopeTo: header(ENVELOPE_TO_HEADER)
      .split(",")
      .map((address) => address.trim().toLowerCase())
      .filter((address) => address !== ""),
    to: addresses(mail.to),
    from: mail.from && !mail.from.group ? mail.from.address : "",
    subject: mail.subject ?? "",
    text: mail.text ?? "",
    html: mail.html,
    contentType: header("content-type"),
  };
}

/** Every mail delivered to `address` so far, oldest first. */
export async function mailsTo(address: string): Promise<ReceivedMail[]> {
  const files = (await readdir(mailDir())).filter((name) => name.endsWith(".eml")).sort();
  const mails = await Promise.all(files.map(readMail));
  return mails.filter((mail) => mail.envelopeTo.includes(address.toLowerCase()));
}

/**
 * Waits (tessera sends from a background queue) until at least `count` mails
 * to `address` satisfy `match`; returns the newest of them.
 */
export async function waitForMail(address: string, match: (mail: ReceivedMail) => boolean, count = 1): Promise<ReceivedMail> {
  let found: ReceivedMail[] = [];
  await expect
    .poll(
      async () => {
        found = (await mailsTo(address)).filter(match);
        return found.length;
      },
      { message: `${count} mail(s) to ${address}`, timeout: 15_000 },
    )
    .toBeGreaterThanOrEqual(count);
  const newest = found.at(-1);
  if (!newest) throw new Error("unreachable: the poll saw a mail");
  return newest;
}

/** Whether the mail's plain text holds a link to `path` on the app with a token. */
export function hasLink(path: string): (mail: ReceivedMail) => boolean {
  return (mail) => linkPattern(path).test(mail.text);
}

function linkPattern(path: string): RegExp {
  return new RegExp(`https?://[^\\s/]+${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\?token=[A-Za-z0-9_-]+`);
}

/** The link to `path` in the mail's plain text (fails the test when there is none). */
export function linkIn(mail: ReceivedMail, path: string): string {
  const link = mail.text.match(linkPattern(path))?.[0];
  expect(link, `a ${path} link in "${mail.subject}"`).toBeTruthy();
  return link ?? "";
}
