/**
 * Which parts of a service's metadata an operator reviews, and how a change of them is shown.
 *
 * Once a service is approved (or published to demo), what users see and where codes and tokens go
 * is part of what the operator approved: a change to any of these waits for the operator's review
 * (the approved version stays in force meanwhile). Everything else an RFC 7592 update may change at once.
 */

export type Metadata = Record<string, unknown>;

/** Fields (and their language-tagged variants, `client_name#fi`) whose change needs review. */
const REVIEWED_FIELDS = [
  'redirect_uris',
  'post_logout_redirect_uris',
  'client_name',
  'logo_uri',
  'policy_uri',
  'tos_uri',
  'client_uri',
  'subject_type',
  'sector_identifier_uri',
  'jwks',
  'jwks_uri',
  'backchannel_logout_uri',
  'backchannel_logout_session_required',
  'token_endpoint_auth_method',
  'token_endpoint_auth_signing_alg',
  'application_type',
];

function isReviewedField(field: string): boolean {
  const base = field.split('#')[0]!;
  return REVIEWED_FIELDS.includes(base);
}

/** Values never shown to operators nor written to the audit log. */
const SECRET_FIELDS = ['client_secret', 'registration_access_token'];

export function redactMetadata(metadata: Metadata): Metadata {
  return Object.fromEntries(Object.entries(metadata).filter(([field]) => !SECRET_FIELDS.includes(field)));
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Field → { from, to } for every field that differs (secrets only say that they changed). */
export function metadataDiff(before: Metadata, after: Metadata): Record<string, { from?: unknown; to?: unknown } | 'changed'> {
  const diff: Record<string, { from?: unknown; to?: unknown } | 'changed'> = {};
  for (const field of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (field === 'client_id_issued_at' || same(before[field], after[field])) continue;
    diff[field] = SECRET_FIELDS.includes(field) ? 'changed' : { from: before[field], to: after[field] };
  }
  return diff;
}

/**
 * The reviewed fields an update sets to a new value (field → proposed value). A field the update
 * leaves out is not a held change: removing a URI or a name gives a service no new reach.
 */
export function reviewedChanges(current: Metadata, proposed: Metadata): Metadata {
  const changes: Metadata = {};
  for (const [field, value] of Object.entries(proposed)) {
    if (!isReviewedField(field) || value === undefined || value === null) continue;
    if (!same(current[field], value)) changes[field] = value;
  }
  return changes;
}
