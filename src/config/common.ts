import { z } from 'zod';

/** Settings shapes shared by the configuration file and the admin API. */

export const localized = z
  .object({
    fi: z.string().min(1).describe('Finnish text'),
    sv: z.string().min(1).optional().describe('Swedish text (falls back to Finnish)'),
    en: z.string().min(1).optional().describe('English text (falls back to Finnish)'),
  })
  .strict();
export type LocalizedText = z.infer<typeof localized>;

const schoolId = z.string().regex(/^(\d{5}|\d{7}|1\.2\.246\.562\.(10|99)\.\d{11,12})$/, 'a school code, office code or organisation OID');

/** A school a directory vouches for: its code or OID, optionally with the names the chooser shows. */
export const directorySchoolSchema = z.union([
  schoolId,
  z.object({ id: schoolId, name: localized.optional().describe('Name in the chooser (default: from the organisation registry)') }).strict(),
]);

/** Whose accounts a school directory holds; each MPASSid environment offers one kind (see usableIn). */
export const DIRECTORY_ACCOUNTS = ['real', 'test', 'demo'] as const;
export type DirectoryAccounts = (typeof DIRECTORY_ACCOUNTS)[number];

/** The MPASSid environments: each has its own issuer, services' approval and directories (see usableIn). */
export const ENVIRONMENTS = ['test', 'demo', 'production'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];
