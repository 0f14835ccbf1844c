import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onFreePort, rebind } from './ports.js';

export interface RedisServerHandle {
  port: number;
  url: string;
  /** With `appendOnly`: the append-only file as it is on disk now (every part of it, as text). */
  appendOnlyFile(): string;
  stop(): Promise<void>;
  /** Starts the server again on the same port (after stop). */
  restart(): Promise<void>;
  /** Ends the server abruptly (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Stops the process (SIGSTOP): its sockets stay open and nothing is answered, as a hung host. */
  pause(): void;
  /** Lets a paused server run again (SIGCONT). */
  resume(): void;
}

export interface RedisServerOptions {
  /** Persist with the append-only file, fsync every second (as production runs it). */
  appendOnly?: boolean;
}

const READY_TIMEOUT_MS = 10_000;

function launch(port: number, dir: string, options: RedisServerOptions): Promise<ChildProcess> {
  const persistence = options.appendOnly ? ['--appendonly', 'yes', '--appendfsync', 'everysec'] : ['--appendonly', 'no'];
  return new Promise((resolve, reject) => {
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server did not become ready on port ${port}: ${output.slice(-500)}`));
    }, READY_TIMEOUT_MS);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}: ${output.slice(-500)}`));
    });
  });
}

/** A private redis-server on a free loopback port (never the machine's shared 6379). */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'mpassid-redis-'));
  // redis-server takes its port as --port (0 would mean no TCP at all): picked first, another one if taken meanwhile.
  let child: ChildProcess | undefined;
  const port = await onFreePort(async (candidate) => {
    child = await launch(candidate, dir, options);
    return candidate;
  });
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill(signal);
    });
  };
  const stop = () => end('SIGTERM');
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    appendOnlyFile() {
      const aofDir = join(dir, 'appendonlydir');
      if (!existsSync(aofDir)) return '';
      return readdirSync(aofDir)
        .filter((name) => name.endsWith('.aof'))
        .sort()
        .map((name) => readFileSync(join(aofDir, name), 'utf8'))
        .join('');
    },
    stop,
    kill: () => end('SIGKILL'),
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    async restart() {
      await stop();
      // The same port: the bridges hold its URL.
      child = await rebind(() => launch(port, dir, options));
    },
  };
}
