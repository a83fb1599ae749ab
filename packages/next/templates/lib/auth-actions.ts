"use server";

import type { AuthFormState } from "@tessera/next";
import { tessera } from "./auth";
import { forgetMailToken } from "./mail-token-cookie";

// Server actions must live in a "use server" module of the app; each one hands
// the form to the kit, which talks to tessera and applies its cookies. Every
// form that uses them works as a plain POST too, without JavaScript.

export async function signInAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.signIn(previous, formData);
}

export async function signUpAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.signUp(previous, formData);
}

export async function signOutAction(): Promise<void> {
  await tessera.signOut();
}

export async function requestPasswordResetAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.requestPasswordReset(previous, formData);
}

export async function resetPasswordAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  try {
    return await tessera.resetPassword(previous, formData);
  } catch (error) {
    // Success is a redirect, thrown: the link's token is spent, so forget it.
    await forgetMailToken("/reset-password");
    throw error;
  }
}

export async function verifyEmailAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  // The spent token's cookie is left to expire: cleared now, the page would
  // re-render as "link incomplete" instead of showing the success message.
  return tessera.verifyEmail(previous, formData);
}
