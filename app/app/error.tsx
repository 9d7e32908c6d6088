'use client';
/** Shown when a page fails on the server; the details stay in the server's log. */
export default function PageError({ reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <div className="page" role="alert">
      <h1>This page could not be shown</h1>
      <p>Something went wrong on the server. Try again; if it keeps happening, tell whoever runs this lab.</p>
      <button type="button" className="button" onClick={() => reset()}>
        Try again
      </button>
    </div>
  );
}
