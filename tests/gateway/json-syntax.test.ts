// The byte-level JSON check write bodies get instead of JSON.parse (proxy/json-syntax.ts): it accepts and
// refuses exactly what JSON.parse does, over hand-picked cases and thousands of random mutations of real
// bodies, and says where a body goes wrong in serde's words.
import { describe, expect, it } from 'vitest';
import { jsonSyntaxError } from '../../src/proxy/json-syntax.js';

const check = (text: string) => jsonSyntaxError(Buffer.from(text, 'utf8'));
const parses = (text: string) => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

const VALID = [
  '{}',
  '[]',
  ' \n\t{ "a" : [1, -2.5e+3, 0, 0.0, 1E5, true, false, null, "x"] } \r\n',
  '"just a string"',
  '0',
  '-0.5',
  '{"ids":["a","b"],"embeddings":["AAAAAA==","AAAAAA=="],"metadatas":[{"k":"v \\" \\\\ \\/ \\b\\f\\n\\r\\t \\u00e9"},null]}',
  '{"nested":{"deeper":{"deepest":[[[]]]}}}',
  '{"unicode":"héllo ✓ 𝄞"}',
];

const INVALID = ['', '   ', '{', '}', '[1,]', '[,1]', '{"a":1,}', '{"a" 1}', '{a:1}', "{'a':1}", '01', '1.', '.5', '-', '1e', '+1', 'tru', 'nulls', '"abc', '"\\x"', '"\\u12G4"', '{"a":1} {}', '[1 2]', 'NaN', '{"a":1]', '["a"'];

describe('jsonSyntaxError', () => {
  it('accepts what JSON.parse accepts', () => {
    for (const text of VALID) {
      expect(parses(text), text).toBe(true);
      expect(check(text), text).toBeNull();
    }
  });

  it('refuses what JSON.parse refuses, saying where', () => {
    for (const text of INVALID) {
      expect(parses(text), text).toBe(false);
      expect(check(text), text).toMatch(/ at line \d+ column \d+$/);
    }
    expect(check('{"ids": [1,\n  2,, 3]}')).toBe('expected value at line 2 column 5');
    expect(check('hello')).toBe('expected value at line 1 column 1');
    expect(check('not json')).toBe('expected ident at line 1 column 2');
  });

  it('refuses nesting deeper than serde_json allows', () => {
    expect(check('['.repeat(128) + ']'.repeat(128))).toBeNull();
    expect(check('['.repeat(129) + ']'.repeat(129))).toMatch(/^recursion limit exceeded/);
  });

  it('agrees with JSON.parse on random mutations of real bodies (raw control characters in strings aside)', () => {
    let s = 12345;
    const random = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const alphabet = ['{', '}', '[', ']', '"', '\\', ',', ':', ' ', '0', '1', '-', '.', 'e', 'a', 'u', 'n', 't', 'l', '\n'];
    const seeds = [...VALID, JSON.stringify({ ids: ['x', 'y'], embeddings: [[0.5, -1e-3], [2, 3]], documents: ['a "quoted" doc', null], metadatas: [{ a: 1 }, { b: [true] }] })];
    let valid = 0;
    for (let n = 0; n < 20_000; n++) {
      const chars = [...seeds[n % seeds.length]!];
      for (let m = 1 + Math.floor(random() * 3); m > 0; m--) {
        const at = Math.floor(random() * (chars.length + 1));
        const kind = random();
        if (kind < 0.33) chars.splice(at, 1);
        else if (kind < 0.66) chars.splice(at, 0, alphabet[Math.floor(random() * alphabet.length)]!);
        else chars[at] = alphabet[Math.floor(random() * alphabet.length)]!;
      }
      const text = chars.join('');
      // A raw newline inside a string is the one difference: left for Chroma to refuse (see json-syntax.ts).
      // Outside strings it is whitespace, so the text without raw newlines tells what the check must say.
      const expected = parses(text.replace(/\n/g, ' '));
      if (expected) valid++;
      expect(check(text) === null, text).toBe(expected);
    }
    expect(valid).toBeGreaterThan(1_000);
  });
});
