import { z } from 'zod';

/** One role of the vocabulary: the accepted inputs (any case) and what services receive. */
export const roleSchema = z
  .object({
    code: z.string().regex(/^\d+$/).describe('Role code in urn:mpass.id:role'),
    text: z.string().min(1).describe('Role text in urn:mpass.id:role'),
    inputs: z.array(z.string().min(1)).min(1).describe('Accepted directory values, case-insensitive (fi/sv/en)'),
  })
  .strict();
export type Role = z.infer<typeof roleSchema>;

/** Spec §6. Anything else (e.g. huoltaja, guardian) is not allowed. */
export const DEFAULT_ROLES: Role[] = [
  { code: '1', text: 'Oppilas', inputs: ['oppilas', 'opiskelija', 'oppija', 'inlärare', 'student', 'learner'] },
  { code: '2', text: 'Opettaja', inputs: ['opettaja', 'lärare', 'teacher'] },
  { code: '3', text: 'Hallintohenkilö', inputs: ['hallintohenkilö', 'staff'] },
  { code: '4', text: 'Koulusihteeri', inputs: ['koulusihteeri', 'skolsekreterare', 'school secretary'] },
  { code: '5', text: 'Sijaisopettaja', inputs: ['sijaisopettaja', 'lärarvikarie', 'substitute teacher'] },
  { code: '6', text: 'Rehtori', inputs: ['rehtori', 'rektor', 'principal'] },
];
