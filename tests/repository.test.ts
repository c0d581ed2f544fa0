import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..');

// A merge that left its conflict markers in went unnoticed in README.md for a whole session: no
// tracked text file may carry them.
it('no tracked file keeps a merge conflict marker', () => {
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' })
    .split('\0')
    .filter((path) => /\.(ts|js|mjs|json|ya?ml|md|sh)$|(^|\/)run$/.test(path));
  expect(files.length).toBeGreaterThan(100);
  const marked = files.filter((path) => {
    let text: string;
    try {
      text = readFileSync(join(root, path), 'utf8');
    } catch {
      return false; // listed in the index but deleted in the work tree
    }
    return /^(<{7} |={7}$|>{7} )/m.test(text);
  });
  expect(marked).toEqual([]);
});
