import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';

/**
 * The AWS CLI (botocore, a different SDK from the one the controller uses), for tests of the local
 * endpoint. CI installs it when missing (.ci/run); elsewhere a test without it says so and skips.
 */
export const hasAwsCli = (() => {
  try {
    execFileSync('aws', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/**
 * Runs `aws --endpoint-url <url> --output json ...args` and parses its answer. Asynchronous: the
 * endpoint answers from the test's own process, so a blocking call would wait on itself.
 */
export function awsCli(url: string): (...args: string[]) => Promise<unknown> {
  return async (...args) => {
    const { stdout } = await promisify(execFile)(
      'aws',
      ['--endpoint-url', url, '--output', 'json', ...args],
      {
        env: {
          ...process.env,
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
          AWS_DEFAULT_REGION: 'us-east-1',
          // Version 2 pages its output through `less` otherwise.
          AWS_PAGER: '',
        },
        timeout: 30_000,
      },
    );
    return stdout.trim() === '' ? undefined : JSON.parse(stdout);
  };
}
