import { createServer, type IncomingMessage, type Server } from 'node:http';

/**
 * A stand-in for the GitHub REST API: the one thing the tests fake. It records every
 * request and keeps issue comments in memory, so a test can check what the Action did.
 */
export interface RecordedRequest {
  method: string;
  path: string;
  authorization?: string;
  body?: unknown;
}

export interface FakeComment {
  id: number;
  body: string;
  html_url: string;
  user: { login: string; type: string };
}

/** GitHub refuses comment bodies longer than this (422). */
export const FAKE_COMMENT_LIMIT = 65_536;

export class FakeGitHub {
  readonly requests: RecordedRequest[] = [];
  readonly comments: FakeComment[] = [];
  /** Files the pull request "changed", as the API lists them. */
  prFiles: { filename: string; status: string }[] = [];
  /** HTTP status to answer comment writes with instead of success (e.g. 403). */
  commentWriteStatus?: number;
  /** Who the token is: GET /user answers this login, or 403 (an installation token) when undefined. */
  tokenUser?: string;
  /** The login new comments are written as (GITHUB_TOKEN writes as github-actions[bot]). */
  writer = 'github-actions[bot]';
  private server?: Server;
  private nextId = 1000;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(({ status, body, headers }) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private async handle(
    req: IncomingMessage,
  ): Promise<{ status: number; body: unknown; headers?: Record<string, string> }> {
    const url = new URL(req.url ?? '/', this.url);
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const body = raw ? JSON.parse(raw) : undefined;
    this.requests.push({
      method: req.method ?? '',
      path: url.pathname,
      authorization: req.headers.authorization,
      body,
    });

    const page = Number(url.searchParams.get('page') ?? 1);
    const perPage = Number(url.searchParams.get('per_page') ?? 30);
    const paged = <T>(items: T[]) => {
      const slice = items.slice((page - 1) * perPage, page * perPage);
      const headers: Record<string, string> = {};
      if (page * perPage < items.length) {
        const next = new URL(url);
        next.searchParams.set('page', String(page + 1));
        headers.link = `<${next.toString()}>; rel="next"`;
      }
      return { status: 200, body: slice, headers };
    };

    if (req.method === 'GET' && url.pathname === '/user') {
      if (!this.tokenUser)
        return { status: 403, body: { message: 'Resource not accessible by integration' } };
      return { status: 200, body: { login: this.tokenUser, type: 'User' } };
    }
    if (req.method === 'GET' && /^\/repos\/[^/]+\/[^/]+\/pulls\/\d+\/files$/.test(url.pathname)) {
      // Like the real API, the list stops at 3,000 files.
      return paged(this.prFiles.slice(0, 3000));
    }
    if (req.method === 'GET' && /^\/repos\/[^/]+\/[^/]+\/issues\/\d+\/comments$/.test(url.pathname)) {
      return paged(this.comments);
    }
    if (req.method === 'POST' && /^\/repos\/[^/]+\/[^/]+\/issues\/\d+\/comments$/.test(url.pathname)) {
      if (this.commentWriteStatus)
        return {
          status: this.commentWriteStatus,
          body: { message: 'Resource not accessible by integration' },
        };
      if ((body as { body: string }).body.length > FAKE_COMMENT_LIMIT) return tooLong();
      return { status: 201, body: this.addComment((body as { body: string }).body, this.writer) };
    }
    const update = /^\/repos\/[^/]+\/[^/]+\/issues\/comments\/(\d+)$/.exec(url.pathname);
    if (req.method === 'PATCH' && update) {
      if (this.commentWriteStatus)
        return {
          status: this.commentWriteStatus,
          body: { message: 'Resource not accessible by integration' },
        };
      const comment = this.comments.find((c) => c.id === Number(update[1]));
      if (!comment) return { status: 404, body: { message: 'Not Found' } };
      if ((body as { body: string }).body.length > FAKE_COMMENT_LIMIT) return tooLong();
      comment.body = (body as { body: string }).body;
      return { status: 200, body: comment };
    }
    if (req.method === 'DELETE' && update) {
      const index = this.comments.findIndex((c) => c.id === Number(update[1]));
      if (index < 0) return { status: 404, body: { message: 'Not Found' } };
      this.comments.splice(index, 1);
      return { status: 204, body: '' };
    }
    return { status: 404, body: { message: `fake GitHub has no route for ${req.method} ${url.pathname}` } };
  }

  /** A comment as another account would write it (a test's setup). */
  addComment(body: string, login: string): FakeComment {
    const id = this.nextId++;
    const comment = {
      id,
      body,
      html_url: `https://github.test/o/r/pull/1#issuecomment-${id}`,
      user: { login, type: login.endsWith('[bot]') ? 'Bot' : 'User' },
    };
    this.comments.push(comment);
    return comment;
  }
}

function tooLong() {
  return {
    status: 422,
    body: {
      message: 'Validation Failed',
      errors: [{ message: 'body is too long (maximum is 65536 characters)' }],
    },
  };
}
