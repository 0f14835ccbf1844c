import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Directory client secrets at rest: AES-256-GCM under the deployment's directory keys (newest first).
 * The sealed form names the key it was sealed with, so keys can be rotated: a new key seals, the old
 * ones still open what they sealed. The caller's context (the directory's id and issuer, see
 * sealingContext in records.ts) is bound as associated data, so a sealed secret copied onto another
 * directory's record, or left on a record whose issuer was changed, does not open.
 */

export interface SealedSecret {
  kind: 'sealed';
  /** Which key sealed it (a short hash of the key, not the key). */
  keyId: string;
  /** base64url of iv ‖ ciphertext ‖ tag. */
  value: string;
}

export class SecretBoxError extends Error {
  override readonly name = 'SecretBoxError';
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

function keyIdOf(key: Buffer): string {
  return createHash('sha256').update('mpassid-directory-key\0').update(key).digest('base64url').slice(0, 12);
}

/** Reads a key from its configuration form: 32 bytes, base64 or base64url. */
function parseDirectoryKey(encoded: string): Buffer {
  const key = Buffer.from(encoded, 'base64url');
  if (key.length !== 32) throw new SecretBoxError('a directory key must be 32 bytes, base64 or base64url encoded');
  return key;
}

export class SecretBox {
  private readonly keys: Array<{ id: string; key: Buffer }>;

  constructor(keys: readonly string[]) {
    if (keys.length === 0) throw new SecretBoxError('no directory key configured');
    this.keys = keys.map((encoded) => {
      const key = parseDirectoryKey(encoded);
      return { id: keyIdOf(key), key };
    });
  }

  seal(plaintext: string, context: string): SealedSecret {
    const { id, key } = this.keys[0]!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return { kind: 'sealed', keyId: id, value: Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url') };
  }

  open(sealed: SealedSecret, context: string): string {
    const entry = this.keys.find((k) => k.id === sealed.keyId);
    if (!entry) throw new SecretBoxError(`the key ${sealed.keyId} that sealed this secret is not configured`);
    const raw = Buffer.from(sealed.value, 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES) throw new SecretBoxError('the sealed secret is truncated');
    const decipher = createDecipheriv('aes-256-gcm', entry.key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError('the sealed secret does not open with its key (tampered, or sealed for another directory or issuer)');
    }
  }

  /** Whether a secret is sealed with an older key than the current one (worth re-sealing). */
  isStale(sealed: SealedSecret): boolean {
    return sealed.keyId !== this.keys[0]!.id;
  }
}
