import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A throwaway XFS filesystem with reflink, loop-mounted from a sparse file: the kind of
 * volume where PostgreSQL 18's `file_copy_method = clone` shares blocks instead of
 * copying them. Needs root, xfsprogs (mkfs.xfs) and loop devices; the error says which
 * one is missing. Used by the copy-on-write test and the benchmark.
 */
export interface ReflinkVolume {
  mountPoint: string;
  /** Unmounts, detaches the loop device and removes the image. Safe to call twice. */
  dispose(): Promise<void>;
}

function run(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function failure(step: string, error: unknown): Error {
  const e = error as { stderr?: string; message?: string };
  const detail = (e.stderr || e.message || String(error)).trim();
  return new Error(`cannot set up a reflink XFS volume: ${step} failed: ${detail}`);
}

/** Why this process cannot create the volume, or undefined when it may try. */
export function reflinkVolumeUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `loop-mounted XFS needs Linux (this is ${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return 'mounting a loop device needs root; run the tests as root (CI does) to test copy-on-write';
  }
  try {
    run('mkfs.xfs', ['-V']);
  } catch {
    return 'mkfs.xfs is missing; install xfsprogs (apt-get install xfsprogs)';
  }
  return undefined;
}

export async function createReflinkVolume(sizeBytes: number): Promise<ReflinkVolume> {
  const why = reflinkVolumeUnavailable();
  if (why) throw new Error(`cannot set up a reflink XFS volume: ${why}`);
  const root = mkdtempSync(path.join(os.tmpdir(), 'pg-rehearsal-xfs-'));
  const image = path.join(root, 'volume.img');
  const mountPoint = path.join(root, 'mnt');
  // mkdtemp makes 0700; a server running as another user (postgres, when we are root) must get through.
  chmodSync(root, 0o755);
  mkdirSync(mountPoint);
  // Sparse: the image takes only the space the filesystem actually uses.
  writeFileSync(image, '');
  truncateSync(image, sizeBytes);
  let mounted = false;
  const dispose = async () => {
    if (mounted) {
      for (let attempt = 0; ; attempt++) {
        try {
          run('umount', [mountPoint]);
          break;
        } catch (error) {
          // A server that just stopped may hold the mount busy for a moment.
          if (attempt >= 20) throw failure('umount', error);
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
      mounted = false;
    }
    // mount -o loop detaches on umount; detach explicitly whatever is left on the image.
    try {
      for (const line of run('losetup', ['-j', image]).split('\n')) {
        const device = line.split(':')[0];
        if (device) run('losetup', ['-d', device]);
      }
    } catch {
      // Nothing attached.
    }
    rmSync(root, { recursive: true, force: true });
  };
  try {
    try {
      run('mkfs.xfs', ['-q', '-m', 'reflink=1', image]);
    } catch (error) {
      throw failure('mkfs.xfs -m reflink=1', error);
    }
    try {
      run('mount', ['-o', 'loop', image, mountPoint]);
      mounted = true;
      chmodSync(mountPoint, 0o755);
    } catch (error) {
      throw failure('mount -o loop (are loop devices available to this container?)', error);
    }
  } catch (error) {
    await dispose();
    throw error;
  }
  return { mountPoint, dispose };
}

/** Bytes in use on the filesystem holding `dir`: shared (reflinked) blocks count once. */
export function usedBytes(dir: string): number {
  const out = run('df', ['--output=used', '-B1', dir]).trim().split('\n');
  return Number(out[out.length - 1]);
}
