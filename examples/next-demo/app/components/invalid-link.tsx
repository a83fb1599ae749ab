import Link from "next/link";

/** A mailed link that arrived without a usable token (cut short, mistyped). */
export function InvalidLink({ retry }: { retry: { href: string; label: string } }) {
  return (
    <>
      <p className="form-error" role="alert">
        This link is incomplete. Open it again from the email, or ask for a new one.
      </p>
      <p>
        <Link href={retry.href}>{retry.label}</Link>
      </p>
    </>
  );
}
