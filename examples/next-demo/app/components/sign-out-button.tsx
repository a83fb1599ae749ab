import { signOutAction } from "@/app/actions";

/** A plain form posting to a server action: works with and without JavaScript. */
export function SignOutButton() {
  return (
    <form action={signOutAction}>
      <button type="submit" className="link-button">
        Sign out
      </button>
    </form>
  );
}
