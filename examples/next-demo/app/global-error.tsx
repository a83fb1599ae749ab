"use client";

/** Shown when the root layout fails, e.g. tessera is down (getSession throws rather than guessing). */
export default function GlobalError({ reset }: { error: Error; reset: () => void }) {
  return (
    <html lang="en">
      <body>
        <main>
          <h1>Service unavailable</h1>
          <p>The sign-in service could not be reached. Please try again in a moment.</p>
          <button type="button" onClick={reset}>
            Try again
          </button>
        </main>
      </body>
    </html>
  );
}
