import { z } from 'zod';

/**
 * A path into the user object of Wilma's JSON answer: property names joined by dots, `[]` after a
 * name whose value is a list to take every element (`roles[].school`: the school of each role).
 */
const JSON_PATH = /^[A-Za-z_][A-Za-z0-9_-]{0,63}(\[\])?(\.[A-Za-z_][A-Za-z0-9_-]{0,63}(\[\])?){0,7}$/;
const ATTRIBUTE_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,99}$/;

/**
 * What the documented (legacy) answer `[{ first_name, last_name, cryptid, roles: [{ school, group,
 * role }] }]` holds, under the names the type's default mapping reads. Learner number, class level
 * and learning-material charges are not in it: a Wilma that sends them needs their paths here.
 */
const DEFAULT_WILMA_ATTRIBUTES: Readonly<Record<string, string>> = {
  first_name: 'first_name',
  last_name: 'last_name',
  cryptid: 'cryptid',
  school: 'roles[].school',
  group: 'roles[].group',
  role: 'roles[].role',
};

/** The settings of a Wilma directory (beside the fields every directory has). */
export const wilmaSettings = {
  type: z.literal('wilma').describe('Wilma (Visma) school administration system: HMAC-SHA256 signed redirect and user-data call'),
  baseUrl: z
    .url({ protocol: /^https?$/ })
    .max(500)
    .refine((url) => !/[?#]/.test(url), 'no query or fragment')
    .describe('Address of the Wilma instance: the login goes to <baseUrl>/mpass'),
  userDataUrl: z
    .url({ protocol: /^https?$/ })
    .max(500)
    .refine((url) => !/[?#]/.test(url), 'no query or fragment')
    .optional()
    .describe("Wilma's signed JSON call for the user's data (default <baseUrl>/external/mpass)"),
  userAttributes: z
    .record(z.string().regex(ATTRIBUTE_NAME, 'an attribute name'), z.string().regex(JSON_PATH, 'a JSON path such as roles[].school'))
    .refine((map) => Object.keys(map).length <= 50, 'at most 50 attributes')
    .optional()
    .describe(
      "Attributes read from the user object of Wilma's JSON answer: attribute name → JSON path (`roles[].school`), added to or replacing the defaults first_name, last_name, cryptid, school, group, role; attributeMapping then names the source attribute each one carries",
    ),
  uniqueIdAttribute: z
    .string()
    .regex(ATTRIBUTE_NAME, 'an attribute name')
    .default('cryptid')
    .describe("The attribute (of userAttributes) that is the user's unique, never reused id at this Wilma"),
};

/** What the connector reads of a Wilma directory's definition. */
export interface WilmaDirectorySettings {
  id: string;
  baseUrl: string;
  userDataUrl?: string | undefined;
  userAttributes?: Record<string, string> | undefined;
  uniqueIdAttribute: string;
}

const trimSlash = (url: string): string => url.replace(/\/+$/, '');

export const wilmaLoginUrl = (settings: Pick<WilmaDirectorySettings, 'baseUrl'>): string => `${trimSlash(settings.baseUrl)}/mpass`;
export const wilmaUserDataUrl = (settings: Pick<WilmaDirectorySettings, 'baseUrl' | 'userDataUrl'>): string =>
  settings.userDataUrl ?? `${trimSlash(settings.baseUrl)}/external/mpass`;
export const wilmaAttributes = (settings: Pick<WilmaDirectorySettings, 'userAttributes'>): Record<string, string> => ({
  ...DEFAULT_WILMA_ATTRIBUTES,
  ...settings.userAttributes,
});

/** Cross-field rule of a Wilma definition: the unique id must be one of the attributes read. */
export function checkWilmaSettings(settings: { userAttributes?: Record<string, string> | undefined; uniqueIdAttribute: string }, ctx: z.RefinementCtx): void {
  if (!Object.hasOwn(wilmaAttributes(settings), settings.uniqueIdAttribute)) {
    ctx.addIssue({
      code: 'custom',
      path: ['uniqueIdAttribute'],
      message: 'must be one of the userAttributes (or a default one: first_name, last_name, cryptid, school, group, role)',
    });
  }
}
