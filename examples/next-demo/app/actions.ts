"use server";

import type { AuthFormState } from "@tessera/next";
import { tessera } from "@/lib/auth";

// Server actions must live in a "use server" module of the app; each one hands
// the form to the kit, which talks to tessera and applies its cookies.

export async function signInAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.signIn(previous, formData);
}

export async function signUpAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.signUp(previous, formData);
}

export async function changePasswordAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.changePassword(previous, formData);
}

export async function signOutAction(): Promise<void> {
  await tessera.signOut();
}

export async function unlinkIdentityAction(previous: AuthFormState, formData: FormData): Promise<AuthFormState> {
  return tessera.unlinkIdentity(previous, formData);
}
