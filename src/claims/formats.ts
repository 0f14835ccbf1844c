/** Value formats of the validation table (spec §4). */

/** National learner number: node 1.2.246.562.24 + 11 digits. The check digit is not verified. */
export const NATIONAL_LEARNER_ID = /^1\.2\.246\.562\.24\.\d{11}$/;
/** Test learner numbers: not real people, not unique; only for clients flagged to allow them. */
export const TEST_LEARNER_ID = /^1\.2\.246\.562\.98\.\d{11}$/;
/** Statistics Finland grade: a non-negative integer. */
export const CLASS_LEVEL = /^\d{1,2}$/;
/** Learning-material charge code: 0 free, 1 charged. */
export const CHARGE = /^[01]$/;

export type LearnerIdKind = 'national' | 'test';

export function learnerIdKind(value: string): LearnerIdKind | undefined {
  if (NATIONAL_LEARNER_ID.test(value)) return 'national';
  if (TEST_LEARNER_ID.test(value)) return 'test';
  return undefined;
}
