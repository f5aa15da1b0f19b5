// A byte-level JSON syntax check for write bodies the gateway stores and forwards as they came: a body
// that is not JSON gets Chroma's 400 at once and is never logged, without building the parsed value (a
// 100-record add is ~200 KB, mostly base64 strings skipped here with native searches). What the check
// does not look at (control characters inside strings, UTF-8 validity) reaches the primary, which answers
// the write with its own 400: the entry is then rejected, nothing is applied anywhere.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** serde_json's nesting limit: Chroma refuses deeper bodies too. */
const MAX_DEPTH = 128;

class SyntaxFault extends Error {
  constructor(
    readonly at: number,
    what: string,
  ) {
    super(what);
  }
}

/** Null when `body` is one JSON value (surrounded by whitespace at most), else where and why it is not. */
export function jsonSyntaxError(body: Buffer): string | null {
  escapesOf = null;
  try {
    const end = value(body, space(body, 0), 0);
    const rest = space(body, end);
    if (rest < body.length) throw new SyntaxFault(rest, 'trailing characters');
    return null;
  } catch (err) {
    if (!(err instanceof SyntaxFault)) throw err;
    return `${err.message} at ${position(body, err.at)}`;
  } finally {
    escapesOf = null; // not kept alive past the check
  }
}

/** serde's wording ("line L column C"), as Chroma reports it. */
function position(body: Buffer, at: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < at && i < body.length; i++) {
    if (body[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return `line ${line} column ${at - lineStart + 1}`;
}

function space(b: Buffer, i: number): number {
  while (i < b.length) {
    const c = b[i]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/** Index just past the value starting at i. */
function value(b: Buffer, i: number, depth: number): number {
  if (i >= b.length) throw new SyntaxFault(i, 'EOF while parsing a value');
  const c = b[i]!;
  if (c === QUOTE) return string(b, i);
  if (c === 0x7b) return object(b, i, depth + 1);
  if (c === 0x5b) return array(b, i, depth + 1);
  if (c === 0x74) return literal(b, i, 'true');
  if (c === 0x66) return literal(b, i, 'false');
  if (c === 0x6e) return literal(b, i, 'null');
  if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return number(b, i);
  throw new SyntaxFault(i, 'expected value');
}

function object(b: Buffer, i: number, depth: number): number {
  if (depth > MAX_DEPTH) throw new SyntaxFault(i, 'recursion limit exceeded');
  i = space(b, i + 1);
  if (b[i] === 0x7d) return i + 1;
  for (;;) {
    if (b[i] !== QUOTE) throw new SyntaxFault(i, i >= b.length ? 'EOF while parsing an object' : 'key must be a string');
    i = space(b, string(b, i));
    if (b[i] !== 0x3a) throw new SyntaxFault(i, i >= b.length ? 'EOF while parsing an object' : "expected ':'");
    i = space(b, value(b, space(b, i + 1), depth));
    if (b[i] === 0x2c) {
      i = space(b, i + 1);
      continue;
    }
    if (b[i] === 0x7d) return i + 1;
    throw new SyntaxFault(i, i >= b.length ? 'EOF while parsing an object' : 'expected `,` or `}`');
  }
}

function array(b: Buffer, i: number, depth: number): number {
  if (depth > MAX_DEPTH) throw new SyntaxFault(i, 'recursion limit exceeded');
  i = space(b, i + 1);
  if (b[i] === 0x5d) return i + 1;
  for (;;) {
    i = space(b, value(b, i, depth));
    if (b[i] === 0x2c) {
      i = space(b, i + 1);
      continue;
    }
    if (b[i] === 0x5d) return i + 1;
    throw new SyntaxFault(i, i >= b.length ? 'EOF while parsing a list' : 'expected `,` or `]`');
  }
}

/** The closing quote is found with native searches: long strings (base64 embeddings) are not walked in JS. */
function string(b: Buffer, i: number): number {
  let from = i + 1;
  for (;;) {
    const quote = b.indexOf(QUOTE, from);
    if (quote === -1) throw new SyntaxFault(b.length, 'EOF while parsing a string');
    const escape = nextEscape(b, from);
    if (escape === -1 || escape > quote) return quote + 1;
    const e = b[escape + 1];
    if (e === 0x75) {
      for (let k = escape + 2; k < escape + 6; k++) if (!isHex(b[k])) throw new SyntaxFault(k, 'invalid escape');
      from = escape + 6;
    } else if (e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
      from = escape + 2;
    } else {
      throw new SyntaxFault(escape + 1, e === undefined ? 'EOF while parsing a string' : 'invalid escape');
    }
  }
}

// The next backslash at or after a position, remembered per body: searching afresh for each string would
// scan to the end of a body without any, once per string.
let escapesOf: Buffer | null = null;
let escapeAt = -1;
let escapeFrom = 0;

function nextEscape(b: Buffer, from: number): number {
  if (escapesOf !== b || from < escapeFrom || (escapeAt !== -1 && from > escapeAt)) {
    escapesOf = b;
    escapeFrom = from;
    escapeAt = b.indexOf(BACKSLASH, from);
  }
  return escapeAt;
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
}

function literal(b: Buffer, i: number, word: string): number {
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word.charCodeAt(k)) throw new SyntaxFault(i + k, i + k >= b.length ? 'EOF while parsing a value' : 'expected ident');
  return i + word.length;
}

const digit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39;

function number(b: Buffer, i: number): number {
  if (b[i] === 0x2d) i++;
  if (b[i] === 0x30) i++;
  else if (digit(b[i])) while (digit(b[i])) i++;
  else throw new SyntaxFault(i, 'invalid number');
  if (b[i] === 0x2e) {
    i++;
    if (!digit(b[i])) throw new SyntaxFault(i, 'invalid number');
    while (digit(b[i])) i++;
  }
  if (b[i] === 0x65 || b[i] === 0x45) {
    i++;
    if (b[i] === 0x2b || b[i] === 0x2d) i++;
    if (!digit(b[i])) throw new SyntaxFault(i, 'invalid number');
    while (digit(b[i])) i++;
  }
  return i;
}
