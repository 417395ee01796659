import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const IDENTITY = {
  GIT_AUTHOR_NAME: 'test',
  GIT_AUTHOR_EMAIL: 'test@example.test',
  GIT_COMMITTER_NAME: 'test',
  GIT_COMMITTER_EMAIL: 'test@example.test',
};

/** A real git repository in a temporary directory, for the Action's change detection. */
export class GitRepo {
  constructor(readonly dir: string) {}

  static create(parent = mkdtempSync(path.join(os.tmpdir(), 'pg-rehearsal-git-')), sub = '.'): GitRepo {
    const repo = new GitRepo(path.resolve(parent, sub));
    mkdirSync(repo.dir, { recursive: true });
    repo.git('init', '-q', '-b', 'main');
    return repo;
  }

  git(...args: string[]): string {
    return execFileSync('git', args, {
      cwd: this.dir,
      env: { ...process.env, ...IDENTITY },
      encoding: 'utf8',
    }).trim();
  }

  /** Writes the files and commits them; returns the commit's sha. */
  commit(files: Record<string, string>, message = 'change'): string {
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(this.dir, name)), { recursive: true });
      writeFileSync(path.join(this.dir, name), text);
    }
    this.git('add', '-A');
    this.git('commit', '-q', '-m', message);
    return this.git('rev-parse', 'HEAD');
  }

  /** A `git clone --depth 1` of this repository, as actions/checkout makes by default. */
  shallowClone(): GitRepo {
    const target = mkdtempSync(path.join(os.tmpdir(), 'pg-rehearsal-shallow-'));
    execFileSync('git', ['clone', '-q', '--depth', '1', `file://${this.dir}`, target]);
    return new GitRepo(target);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
