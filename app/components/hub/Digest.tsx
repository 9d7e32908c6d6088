/**
 * A content digest, shortened for reading (`sha256:4b8e…c1d2`) with the whole
 * value kept for screen readers, copying and the tooltip.
 */
export function Digest({ value }: { value: string }) {
  const [algorithm, hex] = value.includes(':') ? value.split(':', 2) : ['', value];
  const short = hex && hex.length > 16 ? `${hex.slice(0, 12)}…${hex.slice(-4)}` : hex;
  return (
    <code className="digest" title={value}>
      <span aria-hidden="true">
        {algorithm ? `${algorithm}:` : ''}
        {short}
      </span>
      <span className="visually-hidden">{value}</span>
    </code>
  );
}
