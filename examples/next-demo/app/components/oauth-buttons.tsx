import { oauthStartHref, type OAuthProvider } from "@tessera/next";
import { authPaths } from "@/lib/auth-paths";

/**
 * "Sign in with …" for every provider tessera is configured with. Plain links,
 * not next/link: they work without JavaScript, and a prefetch would start a
 * flow. `next` becomes the flow's return_to (sanitised by the kit).
 */
export function OAuthButtons({ providers, next }: { providers: readonly OAuthProvider[]; next: string }) {
  if (providers.length === 0) return null;
  return (
    <div className="oauth">
      <p className="divider">
        <span>or</span>
      </p>
      <ul className="oauth-providers">
        {providers.map((provider) => (
          <li key={provider.name}>
            <a className="button secondary" href={oauthStartHref(provider.name, next, { paths: authPaths })} rel="nofollow">
              Sign in with {provider.label}
            </a>
          </li>
        ))}
      </ul>
    </div>
  );
}
