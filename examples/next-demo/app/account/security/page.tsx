import Link from "next/link";
import { tessera } from "@/lib/auth";
import { formatUtc } from "@/lib/format";
import { PasskeysSection, type PasskeyRow } from "./passkeys-section";
import { TotpSection } from "./totp-section";

export const metadata = { title: "Security · Tessera demo" };

/** Second factors: an authenticator app (TOTP) with its recovery codes, and passkeys. */
export default async function SecurityPage() {
  await tessera.requireUser("/account/security");
  const [status, passkeys] = await Promise.all([tessera.getMfaStatus(), tessera.listPasskeys()]);
  const rows: PasskeyRow[] = passkeys.map((passkey) => ({
    id: passkey.id,
    name: passkey.name,
    created: formatUtc(passkey.created_at),
    lastUsed: passkey.last_used_at ? formatUtc(passkey.last_used_at) : null,
    synced: passkey.backup_state,
  }));
  return (
    <section>
      <h1>Security</h1>
      <p className="muted">
        <Link href="/account">Back to your account</Link>
      </p>
      <TotpSection enabled={status.totp_enabled} recoveryCodesRemaining={status.recovery_codes_remaining} />
      <PasskeysSection passkeys={rows} />
    </section>
  );
}
