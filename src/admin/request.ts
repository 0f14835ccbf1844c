import type { Context } from 'koa';
import type { z } from 'zod';

/** An answer of the admin API other than success: status, stable code, readable reason. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const DEFAULT_BODY_LIMIT_BYTES = 16 * 1024;

/** The JSON body, refused beyond `limitBytes` (directory definitions with thousands of schools get more). */
export async function readJson(ctx: Context, limitBytes = DEFAULT_BODY_LIMIT_BYTES): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) throw new ApiError(413, 'body_too_large', 'request body too large');
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  if (!ctx.is('application/json')) throw new ApiError(415, 'unsupported_media_type', 'send application/json');
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new ApiError(400, 'invalid_json', 'the body is not valid JSON');
  }
}

export function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const reason = result.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`).join('; ');
    throw new ApiError(400, 'invalid_request', reason);
  }
  return result.data;
}
