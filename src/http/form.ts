import type { Context } from 'koa';

export class FormError extends Error {
  override readonly name = 'FormError';
  readonly expose = true;
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const FORM_LIMIT_BYTES = 16 * 1024;

/** The raw text of an application/x-www-form-urlencoded body, bounded in size. */
export async function readFormText(ctx: Context, limit = FORM_LIMIT_BYTES): Promise<string> {
  if (!ctx.is('application/x-www-form-urlencoded')) throw new FormError(415, 'expected a form');
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limit) throw new FormError(413, 'form too large');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new FormError(413, 'form too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Reads an application/x-www-form-urlencoded body, bounded in size. Only our own form routes use it:
 * oidc-provider parses its own endpoints' bodies.
 */
export async function readForm(ctx: Context, limit = FORM_LIMIT_BYTES): Promise<Record<string, string>> {
  const fields: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(await readFormText(ctx, limit))) {
    // A repeated field is ambiguous; the first one counts.
    if (!Object.hasOwn(fields, key)) fields[key] = value;
  }
  return fields;
}
