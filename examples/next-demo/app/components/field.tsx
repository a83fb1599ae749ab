import type { InputHTMLAttributes } from "react";

interface FieldProps extends InputHTMLAttributes<HTMLInputElement> {
  name: string;
  label: string;
  error?: string | undefined;
}

/**
 * A labelled input with its error right below it, wired for screen readers.
 * Pass `id` when two forms on one page have a field of the same name.
 */
export function Field({ name, label, error, id: given, ...input }: FieldProps) {
  const id = given ?? `field-${name}`;
  const errorId = `${id}-error`;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} name={name} aria-invalid={error ? true : undefined} aria-describedby={error ? errorId : undefined} {...input} />
      {error ? (
        <p id={errorId} className="field-error" role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}

export function FormMessage({ status, message }: { status: string; message?: string | undefined }) {
  if (!message) return null;
  return (
    <p className={status === "success" ? "form-success" : "form-error"} role={status === "success" ? "status" : "alert"}>
      {message}
    </p>
  );
}

/** The ticked box an irreversible form wants (field `confirm`), with its error right below it. */
export function ConfirmCheckbox({ id, label, error }: { id: string; label: string; error?: string | undefined }) {
  const errorId = `${id}-error`;
  return (
    <>
      <label className="checkbox">
        <input type="checkbox" name="confirm" value="yes" aria-invalid={error ? true : undefined} aria-describedby={error ? errorId : undefined} />
        {label}
      </label>
      {error ? (
        <p id={errorId} className="field-error" role="alert">
          {error}
        </p>
      ) : null}
    </>
  );
}
