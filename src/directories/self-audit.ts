import { z } from 'zod';
import { SOURCE_ATTRIBUTES, type SourceAttribute } from '../claims/attributes.js';

/**
 * The education provider's self-audit (spec §9): what its directory delivers and how the accounts are
 * kept. Saved piece by piece while the provider fills it in; approval needs it complete.
 */

const USER_GROUPS = ['pupils', 'students', 'teachers', 'staff'] as const;

/** The attributes without which no login (username, learnerId) or no school data (schoolIds, roles) is released. */
const REQUIRED_ATTRIBUTES: readonly SourceAttribute[] = ['username', 'learnerId', 'schoolIds', 'roles'];

const text = z.string().trim().min(1).max(2000);

export const selfAuditSchema = z
  .object({
    attributes: z
      .array(
        z
          .object({
            attribute: z.enum(SOURCE_ATTRIBUTES).describe('A data-model attribute (spec §3)'),
            userGroups: z.array(z.enum(USER_GROUPS)).min(1).describe('For whom the directory holds it'),
          })
          .strict(),
      )
      .max(SOURCE_ATTRIBUTES.length)
      .refine((list) => new Set(list.map((a) => a.attribute)).size === list.length, 'each attribute once')
      .optional()
      .describe('The data-model attributes the directory delivers, and for which user groups'),
    uniqueIdMaintenance: text.optional().describe('How the unique id (username) is assigned and kept stable'),
    learnerIdMaintenance: text.optional().describe('How learner numbers (oppijanumero) are obtained and kept correct'),
    accountAdministration: text.optional().describe('Who administers the accounts'),
    leaverRemoval: text.optional().describe('How and how soon accounts of leavers are removed'),
    securityContact: z
      .object({
        name: z.string().trim().min(1).max(200),
        email: z.email().max(320),
        phone: z.string().trim().max(50).optional(),
      })
      .strict()
      .optional()
      .describe('Who to contact about a security incident'),
    agreementReference: z.string().trim().max(200).optional().describe('Reference of the signed agreement (e.g. its record number)'),
    submittedBy: z.string().trim().min(1).max(200).optional().describe('Who submitted the self-audit for the education provider'),
  })
  .strict();
export type SelfAudit = z.infer<typeof selfAuditSchema>;

/** What is still missing before the self-audit counts as complete (empty: complete). */
export function selfAuditGaps(audit: SelfAudit | undefined): string[] {
  if (!audit) return ['the self-audit has not been submitted'];
  const gaps: string[] = [];
  const declared = new Set((audit.attributes ?? []).map((a) => a.attribute));
  for (const attribute of REQUIRED_ATTRIBUTES) {
    if (!declared.has(attribute)) gaps.push(`attributes: ${attribute} is not declared`);
  }
  const textItems = ['uniqueIdMaintenance', 'learnerIdMaintenance', 'accountAdministration', 'leaverRemoval', 'submittedBy'] as const;
  for (const item of textItems) if (!audit[item]) gaps.push(`${item}: not answered`);
  if (!audit.securityContact) gaps.push('securityContact: not given');
  return gaps;
}
