import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Runs the bundled Action (dist/index.js, dist/post/index.js) as a child process with the
 * environment a GitHub runner gives it: every INPUT_* with its action.yml default
 * overridden by the test's inputs, the event payload, and the command files.
 */
export const FAKE_TOKEN = 'ghs_FakeTokenForTests0123456789';

/** name -> default, read from action.yml (`${{ github.token }}` becomes the fake token). */
export function actionDefaults(): Record<string, string> {
  const yml = readFileSync('action.yml', 'utf8');
  const inputsBlock = yml.slice(yml.indexOf('\ninputs:'), yml.indexOf('\noutputs:'));
  const defaults: Record<string, string> = {};
  let current: string | undefined;
  for (const line of inputsBlock.split('\n')) {
    const name = /^ {2}([a-z-]+):\s*$/.exec(line);
    if (name) current = name[1];
    const value = /^ {4}default:\s*(.*)$/.exec(line);
    if (value && current) {
      defaults[current] = value[1].replace(/^'(.*)'$/, '$1').replace('${{ github.token }}', FAKE_TOKEN);
    }
  }
  return defaults;
}

export interface ActionRun {
  code: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  state: Record<string, string>;
  summary: string;
  runnerTemp: string;
}

export interface ActionEnvironment {
  workspace: string;
  apiUrl: string;
  prNumber?: number;
  /** Another event than pull_request, with its payload (the repository is added). */
  event?: { name: string; payload: Record<string, unknown> };
  env?: Record<string, string>;
}

/** Parses the `name<<DELIM\nvalue\nDELIM` files that @actions/core writes. */
export function parseCommandFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const pattern = /^(.+?)<<(.+)\n([\s\S]*?)\n\2$/gm;
  for (const match of text.matchAll(pattern)) values[match[1]] = match[3];
  return values;
}

export function prepareRun(inputs: Record<string, string>, environment: ActionEnvironment) {
  const runnerTemp = mkdtempSync(path.join(os.tmpdir(), 'pg-rehearsal-runner-'));
  const files = {
    output: path.join(runnerTemp, 'output.txt'),
    state: path.join(runnerTemp, 'state.txt'),
    summary: path.join(runnerTemp, 'summary.md'),
    event: path.join(runnerTemp, 'event.json'),
  };
  mkdirSync(runnerTemp, { recursive: true });
  for (const f of [files.output, files.state, files.summary]) writeFileSync(f, '');
  const prNumber = environment.prNumber ?? 7;
  const repository = { name: 'shop', owner: { login: 'acme' }, default_branch: 'main' };
  const payload = environment.event?.payload ?? {
    action: 'synchronize',
    number: prNumber,
    pull_request: { number: prNumber, base: { sha: 'a'.repeat(40) }, head: { sha: 'b'.repeat(40) } },
  };
  writeFileSync(files.event, JSON.stringify({ repository, ...payload }));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_EVENT_NAME: environment.event?.name ?? 'pull_request',
    GITHUB_EVENT_PATH: files.event,
    GITHUB_REPOSITORY: 'acme/shop',
    GITHUB_WORKSPACE: environment.workspace,
    GITHUB_WORKFLOW: 'migrations',
    GITHUB_JOB: 'rehearse',
    GITHUB_RUN_ID: '424242',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_SERVER_URL: 'https://github.test',
    GITHUB_API_URL: environment.apiUrl,
    GITHUB_OUTPUT: files.output,
    GITHUB_STATE: files.state,
    GITHUB_STEP_SUMMARY: files.summary,
    RUNNER_TEMP: runnerTemp,
    ...environment.env,
  };
  for (const [name, value] of Object.entries({ ...actionDefaults(), ...inputs })) {
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  }
  return { env, files, runnerTemp };
}

export function startAction(
  script: 'dist/index.js' | 'dist/post/index.js',
  env: Record<string, string>,
  cwd: string,
): { child: ChildProcess; done: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [path.resolve(script)], { env, cwd });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, done };
}

export async function runAction(
  inputs: Record<string, string>,
  environment: ActionEnvironment,
): Promise<ActionRun> {
  const { env, files, runnerTemp } = prepareRun(inputs, environment);
  const { done } = startAction('dist/index.js', env, environment.workspace);
  const result = await done;
  return {
    ...result,
    outputs: parseCommandFile(readFileSync(files.output, 'utf8')),
    state: parseCommandFile(readFileSync(files.state, 'utf8')),
    summary: readFileSync(files.summary, 'utf8'),
    runnerTemp,
  };
}
