import { spawn } from 'node:child_process';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the operators' CLI (`npm run admin -- …`) as a separate process against a bridge's admin API. */
export async function runAdminCli(target: { url: string; user: string; password: string }, args: string[], stdin = ''): Promise<CliResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/admin/cli.ts', ...args], {
    env: { ...process.env, NODE_OPTIONS: '', ADMIN_URL: target.url, ADMIN_USER: target.user, ADMIN_PASSWORD: target.password },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end(stdin);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  return { code, stdout, stderr };
}
