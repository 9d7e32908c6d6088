/** Signed or not, in words and a symbol, not colour alone. */
export function SignedBadge({ signed }: { signed: boolean }) {
  return signed ? (
    <span className="status-badge status-done">
      <span aria-hidden="true" className="status-icon">
        ✓
      </span>
      Signed
    </span>
  ) : (
    <span className="status-badge status-pending">
      <span aria-hidden="true" className="status-icon">
        ○
      </span>
      Not signed
    </span>
  );
}
