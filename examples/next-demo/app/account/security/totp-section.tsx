"use client";

import { useActionState, useState } from "react";
import { initialAuthFormState, type AuthFormState, type TotpSetup } from "@tessera/next";
import { confirmTotpAction, disableTotpAction, enrollTotpAction, regenerateRecoveryCodesAction } from "@/app/actions";
import { Field, FormMessage } from "@/app/components/field";

/** Where sign-in comes back to when the session ended before a form was sent. */
const HERE = "/account/security";

type Step = "enroll" | "confirm" | "disable" | "regenerate";

/**
 * The authenticator app (TOTP): set up (password → QR code and secret →
 * first code → recovery codes, shown once), then turn off or get new
 * recovery codes. Four server actions, each a plain form POST without
 * JavaScript; `enabled` comes from the server (`getMfaStatus`), refreshed
 * by the actions.
 */
export function TotpSection({ enabled, recoveryCodesRemaining }: { enabled: boolean; recoveryCodesRemaining: number }) {
  const [enroll, enrollAction, enrolling] = useActionState(enrollTotpAction, initialAuthFormState);
  const [confirm, confirmAction, confirming] = useActionState(confirmTotpAction, initialAuthFormState);
  const [disable, disableAction, disabling] = useActionState(disableTotpAction, initialAuthFormState);
  const [regenerate, regenerateAction, regenerating] = useActionState(regenerateRecoveryCodesAction, initialAuthFormState);
  // Which form was sent last. Without JavaScript each POST renders the page
  // afresh with one answered state, the rest idle; with it, every state
  // stays, so the form the person used last decides what shows.
  const [submitted, setSubmitted] = useState<Step | null>(null);
  const answered = (
    [
      ["enroll", enroll],
      ["confirm", confirm],
      ["disable", disable],
      ["regenerate", regenerate],
    ] as const
  ).find(([, state]) => state.status !== "idle")?.[0];
  const last: Step | undefined = submitted ?? answered;

  const codes = last === "confirm" ? confirm.recoveryCodes : last === "regenerate" ? regenerate.recoveryCodes : undefined;
  // After a wrong first code the kit hands the pending set-up back (confirm.totp), so the QR code stays.
  const setup = enabled ? undefined : last === "confirm" && confirm.status === "error" ? confirm.totp : last === "enroll" ? enroll.totp : undefined;

  return (
    <div className="panel" data-testid="totp-section">
      <h2>Authenticator app</h2>
      <p data-testid="totp-status">
        {enabled
          ? `Two-step sign-in is on: signing in with your password also asks for a code from your app. ${recoveryCodesRemaining} recovery ${recoveryCodesRemaining === 1 ? "code" : "codes"} left.`
          : "Two-step sign-in is off."}
      </p>
      {last === "disable" ? <FormMessage status={disable.status} message={disable.message} /> : null}
      {codes ? <RecoveryCodes codes={codes} message={(last === "confirm" ? confirm : regenerate).message} /> : null}
      {setup ? (
        <ConfirmForm setup={setup} state={confirm} action={confirmAction} pending={confirming} onSubmit={() => setSubmitted("confirm")} />
      ) : null}
      {!enabled && !setup ? (
        <form action={enrollAction} onSubmit={() => setSubmitted("enroll")} noValidate data-testid="totp-enroll" aria-labelledby="totp-enroll-heading">
          <h3 id="totp-enroll-heading">Set up an authenticator app</h3>
          {last === "enroll" || last === "confirm" ? <FormMessage status={(last === "enroll" ? enroll : confirm).status} message={(last === "enroll" ? enroll : confirm).message} /> : null}
          <input type="hidden" name="next" value={HERE} />
          <Field
            id="totp-enroll-password"
            name="current_password"
            label="Current password"
            type="password"
            autoComplete="current-password"
            error={last === "enroll" ? enroll.fieldErrors?.current_password : undefined}
          />
          <p className="muted">Signed up with a provider and never set a password? Leave it empty; sign in again first if it was more than 5 minutes ago.</p>
          <button type="submit" disabled={enrolling}>
            {enrolling ? "Starting…" : "Set up authenticator app"}
          </button>
        </form>
      ) : null}
      {enabled ? (
        <>
          <ProofForm
            testId="totp-regenerate"
            title="New recovery codes"
            hint="The codes you have now stop working."
            state={last === "regenerate" && !codes ? regenerate : initialAuthFormState}
            action={regenerateAction}
            pending={regenerating}
            button="Get new recovery codes"
            onSubmit={() => setSubmitted("regenerate")}
          />
          <ProofForm
            testId="totp-disable"
            title="Turn off two-step sign-in"
            hint="Your recovery codes stop working too."
            state={last === "disable" && disable.status === "error" ? disable : initialAuthFormState}
            action={disableAction}
            pending={disabling}
            button="Turn off"
            onSubmit={() => setSubmitted("disable")}
          />
        </>
      ) : null}
    </div>
  );
}

interface FormProps {
  state: AuthFormState;
  action: (formData: FormData) => void;
  pending: boolean;
  onSubmit: () => void;
}

/** Step two of the set-up: the QR code (SVG made on the server by the kit) and the secret, then the first code. */
function ConfirmForm({ setup, state, action, pending, onSubmit }: FormProps & { setup: TotpSetup }) {
  return (
    <form action={action} onSubmit={onSubmit} noValidate data-testid="totp-confirm" aria-labelledby="totp-confirm-heading">
      <h3 id="totp-confirm-heading">Scan, then enter the code</h3>
      <p className="muted">Scan this QR code with your authenticator app, or type the key below into it.</p>
      <div className="qr" data-testid="totp-qr" dangerouslySetInnerHTML={{ __html: setup.qrSvg }} />
      <p>
        Key: <code className="secret" data-testid="totp-secret">{setup.secret}</code>
      </p>
      <FormMessage status={state.status} message={state.message} />
      <input type="hidden" name="secret" value={setup.secret} />
      <input type="hidden" name="otpauth_uri" value={setup.otpauthUri} />
      <input type="hidden" name="next" value={HERE} />
      <Field
        id="totp-confirm-code"
        name="code"
        label="Code"
        type="text"
        inputMode="numeric"
        autoComplete="one-time-code"
        required
        error={state.fieldErrors?.code}
      />
      <button type="submit" disabled={pending}>
        {pending ? "Checking…" : "Turn on"}
      </button>
    </form>
  );
}

/** The new recovery codes, shown once, with a text file of them to keep. */
function RecoveryCodes({ codes, message }: { codes: readonly string[]; message: string | undefined }) {
  // A data: URL: the codes never touch a server route, a cache or a log.
  const file = `data:text/plain;charset=utf-8,${encodeURIComponent(`Tessera demo recovery codes\n\n${codes.join("\n")}\n`)}`;
  return (
    <div className="panel" data-testid="recovery-codes" aria-labelledby="recovery-codes-heading">
      <h3 id="recovery-codes-heading">Your recovery codes</h3>
      {message ? (
        <p className="form-success" role="status">
          {message}
        </p>
      ) : null}
      <p>Each code signs you in once when you do not have your app. Keep them somewhere safe: they are not shown again.</p>
      <ol className="recovery-codes">
        {codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ol>
      <a className="button secondary" href={file} download="tessera-recovery-codes.txt">
        Download
      </a>
    </div>
  );
}

/** A form that takes a code from the app or, without the app at hand, the current password. */
function ProofForm({ testId, title, hint, state, action, pending, button, onSubmit }: FormProps & { testId: string; title: string; hint: string; button: string }) {
  const headingId = `${testId}-heading`;
  return (
    <form action={action} onSubmit={onSubmit} noValidate data-testid={testId} aria-labelledby={headingId}>
      <h3 id={headingId}>{title}</h3>
      <p className="muted">{hint} Enter a code from your app, or your current password.</p>
      <FormMessage status={state.status} message={state.message} />
      <input type="hidden" name="next" value={HERE} />
      <Field id={`${testId}-code`} name="code" label="Code" type="text" inputMode="numeric" autoComplete="one-time-code" error={state.fieldErrors?.code} />
      <Field id={`${testId}-password`} name="current_password" label="Current password" type="password" autoComplete="current-password" error={state.fieldErrors?.current_password} />
      <button type="submit" disabled={pending}>
        {pending ? "Working…" : button}
      </button>
    </form>
  );
}
