import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

/**
 * Child processes of the login benchmark and what the kernel says about them: CPU time from
 * /proc/<pid>/stat (user + system, every thread: libuv's pool signs and hashes too), resident memory
 * from /proc/<pid>/status, and core pinning with taskset when the machine has it.
 */

export const HAS_TASKSET = (() => {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU milliseconds (user + system) the process has used so far. */
export function cpuMillis(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces and parentheses: the fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat(5); here they are 11 and 12 (0-based, after the name).
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

/** Resident memory of the process, MiB. */
export function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

export const canReadProc = existsSync(`/proc/${process.pid}/stat`);

/** Pins a running process (all its threads) to the given CPUs; a no-op without taskset. */
export function pin(pid: number, cpus: string): void {
  if (!HAS_TASKSET || !cpus) return;
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

export interface Child {
  process: ChildProcess;
  pid: number;
  /** The first JSON line the child printed (its address), when it prints one. */
  announced?: Record<string, unknown>;
  /** Its last lines of output (stdout and stderr), for a failure's report. */
  tail(): string;
  stop(): Promise<void>;
}

/**
 * Starts `command` (pinned to `cpus` when given and taskset exists: taskset execs, so the pid is the
 * program's own). Its stdin stays open: our children stop when it closes, also if the driver dies.
 * With `announce`, waits for its first stdout line that is JSON. Stdout is drained (a bridge writes its
 * request log there, as in production where a log collector reads it).
 */
export async function startChild(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cpus?: string; announce?: boolean; label: string; timeoutMs?: number },
): Promise<Child> {
  const [file, argv] = options.cpus && HAS_TASKSET ? ['taskset', ['-c', options.cpus, command, ...args]] : [command, args];
  const child = spawn(file as string, argv as string[], { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin!.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.kill('SIGTERM');
    await exited;
    clearTimeout(timer);
  };
  const lines = createInterface({ input: child.stdout! });
  let announced: Record<string, unknown> | undefined;
  if (options.announce) {
    announced = await new Promise<Record<string, unknown>>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`${options.label} did not start: ${stderr}`)), options.timeoutMs ?? 30_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        fail(new Error(`${options.label} exited with ${code}: ${stderr}`));
      });
      lines.on('line', (line) => {
        if (announced || !line.startsWith('{')) return;
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          clearTimeout(timer);
          done(parsed);
        } catch {
          // A log line, not the announcement.
        }
      });
    });
  }
  // Keep reading, so a full pipe never blocks the child; the last lines are kept for a failure's report.
  const recent: string[] = [];
  lines.on('line', (line) => {
    recent.push(line);
    if (recent.length > 20) recent.shift();
  });
  if (!child.pid) throw new Error(`${options.label} did not start`);
  return { process: child, pid: child.pid, ...(announced ? { announced } : {}), tail: () => `${recent.join('\n')}\n${stderr}`, stop };
}
