import { oauthErrorMessage } from "@tessera/next";

/** What a failed OAuth sign-in or link (`?error=<code>`) means, in words; nothing when there is no code. */
export function OAuthError({ code }: { code: string | string[] | undefined }) {
  if (code === undefined) return null;
  return (
    <p className="form-error" role="alert" data-testid="oauth-error">
      {oauthErrorMessage(code)}
    </p>
  );
}
