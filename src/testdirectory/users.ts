import { readFileSync } from 'node:fs';
import { z } from 'zod';

// One value, or several (as an array or a `;`-separated string): the forms real directories send.
const claimValue = z.union([z.string(), z.array(z.string())], { error: 'must be a string or an array of strings' });

/** Raw claims a school directory releases; any may be absent or malformed (that is what tests show). */
const claimsSchema = z
  .object({
    given_name: claimValue,
    family_name: claimValue,
    nickname: claimValue,
    learner_id: claimValue,
    school_codes: claimValue,
    groups: claimValue,
    group_levels: claimValue,
    roles: claimValue,
    learning_materials_charges: claimValue,
  })
  .partial()
  .strict();

const userSchema = z
  .object({
    username: z.string().regex(/^[a-z0-9_.-]{1,64}$/, 'lower-case letters, digits, _ . -'),
    password: z.string().min(1),
    description: z.object({ fi: z.string().min(1), sv: z.string().min(1).optional(), en: z.string().min(1) }).strict(),
    /** The case this user shows, as the README lists it. */
    expected: z.string().min(1).optional(),
    claims: claimsSchema,
  })
  .strict();

const catalogueSchema = z
  .object({ users: z.array(userSchema).min(1) })
  .strict()
  .superRefine((catalogue, ctx) => {
    const seen = new Set<string>();
    catalogue.users.forEach((user, index) => {
      if (seen.has(user.username)) ctx.addIssue({ code: 'custom', path: ['users', index, 'username'], message: `duplicate username "${user.username}"` });
      seen.add(user.username);
    });
  });

export type TestUser = z.infer<typeof userSchema>;

export class TestUsersError extends Error {
  override readonly name = 'TestUsersError';
}

export function parseTestUsers(value: unknown, source = 'test users'): TestUser[] {
  const result = catalogueSchema.safeParse(value);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new TestUsersError(`invalid ${source}:\n${lines.join('\n')}`);
  }
  return result.data.users;
}

export function loadTestUsers(path: string): TestUser[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new TestUsersError(`cannot read test users from ${path}: ${(err as Error).message}`);
  }
  return parseTestUsers(raw, path);
}
