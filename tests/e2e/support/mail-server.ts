import { rename, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { SMTPServer } from "smtp-server";

/** The header the test server puts first in each stored message: the SMTP envelope's recipients, which the To header may not match. */
export const ENVELOPE_TO_HEADER = "X-E2E-Envelope-To";

export interface MailServer {
  port: number;
  close(): Promise<void>;
}

/**
 * A real SMTP server on a free loopback port (tessera's
 * `smtp+insecure://` is for loopback only), without STARTTLS or AUTH, that
 * stores every message it accepts as `<seq>.eml` in `dir`, the envelope
 * recipients in a first header. It runs in the global setup's process;
 * specs run in workers and read `dir` (support/mail.ts). Each file is
 * written under another name and renamed, so a reader never sees half a
 * message.
 */
export async function startMailServer(dir: string): Promise<MailServer> {
  let seq = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    hideSTARTTLS: true,
    logger: false,
    size: 1024 * 1024,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", callback);
      stream.on("end", () => {
        const recipients = session.envelope.rcptTo.map((rcpt) => rcpt.address).join(", ");
        const name = String(++seq).padStart(6, "0");
        const message = Buffer.concat([Buffer.from(`${ENVELOPE_TO_HEADER}: ${recipients}\r\n`), ...chunks]);
        const partial = join(dir, `${name}.part`);
        writeFile(partial, message)
          .then(() => rename(partial, join(dir, `${name}.eml`)))
          .then(() => callback(), callback);
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;
  return { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
