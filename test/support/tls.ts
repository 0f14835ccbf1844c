import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';

export interface TestCertificate {
  key: string;
  cert: string;
  /** The certificate's file (for NODE_EXTRA_CA_CERTS of a child process). */
  certFile: string;
}

/**
 * A self-signed certificate for 127.0.0.1 and localhost (openssl), trusted by this process from now
 * on: the loopback https servers of a production-shaped test are then verified, not waved through.
 */
export function trustedLoopbackCertificate(): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'mpassid-tls-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  const cert = readFileSync(certFile, 'utf8');
  tls.setDefaultCACertificates([...tls.getCACertificates('default'), cert]);
  return { key: readFileSync(keyFile, 'utf8'), cert, certFile };
}
