import * as exec from '@actions/exec';

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs git quietly in `cwd`; never throws for a non-zero exit (callers explain what failed). */
export async function git(args: string[], cwd: string): Promise<GitResult> {
  let stdout = '';
  let stderr = '';
  try {
    const code = await exec.exec('git', args, {
      cwd,
      ignoreReturnCode: true,
      silent: true,
      listeners: {
        stdout: (data: Buffer) => (stdout += data.toString()),
        stderr: (data: Buffer) => (stderr += data.toString()),
      },
    });
    return { code, stdout: stdout.trim(), stderr: stderr.trim() };
  } catch (error) {
    // git itself missing, or cwd gone
    return { code: -1, stdout: '', stderr: String(error) };
  }
}

/**
 * The repository's top directory, seen from `directory` (the working directory), whatever
 * path actions/checkout used; undefined outside a git work tree.
 */
export async function repositoryRoot(directory: string): Promise<string | undefined> {
  const result = await git(['rev-parse', '--show-toplevel'], directory);
  return result.code === 0 && result.stdout ? result.stdout : undefined;
}

export async function isShallow(root: string): Promise<boolean> {
  return (await git(['rev-parse', '--is-shallow-repository'], root)).stdout === 'true';
}

export async function headCommit(root: string): Promise<string | undefined> {
  const result = await git(['rev-parse', 'HEAD'], root);
  return result.code === 0 ? result.stdout : undefined;
}

/** The first of `candidates` that names a commit here (`origin/main` before `main`). */
export async function resolveCommit(root: string, candidates: string[]): Promise<string | undefined> {
  for (const ref of candidates) {
    const result = await git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], root);
    if (result.code === 0 && result.stdout) return result.stdout;
  }
  return undefined;
}
