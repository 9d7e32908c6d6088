import { describe, expect, it } from 'vitest';
import { methodRefusal, originRefusal, readJson } from './http-answers.js';
import { appRequestPolicy } from './request-policy.js';

const post = (body: string, type = 'application/json') =>
  new Request('http://localhost:3000/api/x', { method: 'POST', headers: { 'Content-Type': type }, body });

describe('API answers', () => {
  it('reads a JSON body of the JSON type, up to a size', async () => {
    expect(await readJson(post('{"a":1}'))).toEqual({ ok: true, value: { a: 1 } });
    expect(await readJson(post('{"a":1}', 'application/json; charset=utf-8'))).toMatchObject({ ok: true });
    const form = await readJson(post('a=1', 'application/x-www-form-urlencoded'));
    expect(form.ok || form.refusal.status).toBe(415);
    const text = await readJson(post('{"a":1}', 'text/plain'));
    expect(text.ok || text.refusal.status).toBe(415);
    const broken = await readJson(post('{'));
    expect(broken.ok || broken.refusal.status).toBe(400);
    const large = await readJson(post(JSON.stringify({ a: 'x'.repeat(100) }), undefined), 50);
    expect(large.ok || large.refusal.status).toBe(413);
  });

  it('checks the method, the Host and the Origin rule', async () => {
    const policy = appRequestPolicy(3000, undefined);
    const get = (headers: Record<string, string>) => new Request('http://localhost:3000/api/x', { headers });
    expect(methodRefusal(get({}), ['GET'])).toBeUndefined();
    expect(methodRefusal(new Request('http://x/', { method: 'HEAD' }), ['GET'])).toBeUndefined();
    const refused = methodRefusal(get({}), ['POST', 'DELETE'])!;
    expect(refused.status).toBe(405);
    expect(refused.headers.get('allow')).toBe('POST, DELETE');
    expect(originRefusal(policy, get({ host: 'localhost:3000' }), 'read')).toBeUndefined();
    expect(originRefusal(policy, get({ host: 'evil.example' }), 'read')?.status).toBe(403);
    expect(
      originRefusal(policy, get({ host: 'localhost:3000', 'sec-fetch-site': 'cross-site' }), 'read')?.status,
    ).toBe(403);
    expect(originRefusal(policy, get({ host: 'localhost:3000' }), 'write')?.status).toBe(403);
    expect(
      originRefusal(policy, get({ host: 'localhost:3000', origin: 'http://localhost:3000' }), 'write'),
    ).toBeUndefined();
    const body = (await originRefusal(policy, get({ host: 'x' }), 'read')!.json()) as {
      error: { code: string };
    };
    expect(body.error.code).toBe('FORBIDDEN_HOST');
  });
});
