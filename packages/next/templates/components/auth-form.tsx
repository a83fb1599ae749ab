import type { InputHTMLAttributes } from "react";

interface FieldProps extends InputHTMLAttributes<HTMLInputElement> {
  name: string;
  label: string;
  error?: string | undefined;
}

/**
 * A labelled input with its error right below it, wired for screen readers.
 * Plain elements with class names, so any stylesheet can restyle them.
 */
export function Field({ name, label, error, id: given, ...input }: FieldProps) {
  const id = given ?? `field-${name}`;
  const errorId = `${id}-error`;
  return (
    <div className="auth-field">
      <label htmlFor={id}>{label}</label>
      <input id={id} name={name} aria-invalid={error ? true : undefined} aria-describedby={error ? errorId : undefined} {...input} />
      {error ? (
        <p id={errorId} className="auth-field-error" role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}

/** The form's answer: an alert for errors, a status for success. */
export function FormMessage({ status, message }: { status: string; message?: string | undefined }) {
  if (!message) return null;
  return (
    <p className={status === "success" ? "auth-success" : "auth-error"} role={status === "success" ? "status" : "alert"}>
      {message}
    </p>
  );
}
