import Link from 'next/link';

export default function NotFound() {
  return (
    <div className="page">
      <h1>Nothing here</h1>
      <p>
        This address does not lead to a lab or a repository. <Link href="/">See the labs</Link> or{' '}
        <Link href="/hub">browse the hub</Link>.
      </p>
    </div>
  );
}
