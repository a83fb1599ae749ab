"use server";

import type { AuthFormState } from "@tessera/next";
import { tessera } from "./auth";
import { forgetMailToken } from "./mail-token-cookie";

// The forms take the kit's ready-made server actions (@tessera/next/actions)
// where the defaults fit; this "use server" module holds the one that does
// more: it hands the form to the kit, which talks to tessera and applies its
// cookies, then forgets the mailed link's token. Every form works as a plain
// POST too, without JavaScript.

export async function resetPasswordAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  try {
    return await tessera.resetPassword(previous, formData);
  } catch (error) {
    // Success is a redirect, thrown: the link's token is spent, so forget it.
    await forgetMailToken("/reset-password");
    throw error;
  }
}
