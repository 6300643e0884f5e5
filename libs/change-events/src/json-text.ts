import { ChangeEventDecodeError } from './change-event.errors';

/** Values as they go into a search document: plain JSON, exact. */
export type DocumentValue =
  null | boolean | number | string | DocumentValue[] | { [key: string]: DocumentValue };

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** bigint as a JSON number while it is exact, else as a decimal string — never rounded. */
export function exactInteger(value: bigint): number | string {
  return value <= MAX_SAFE && value >= -MAX_SAFE ? Number(value) : value.toString();
}

function significantDigits(text: string): number {
  return text
    .replace(/[eE].*$/, '')
    .replace(/[-+.]/g, '')
    .replace(/^0+/, '')
    .replace(/0+$/, '').length;
}

/**
 * A JSON number's text as a document value: a number when a double holds it exactly enough
 * (an integer up to 2^53, or at most 15 significant digits without overflow or underflow),
 * else its digits as a string — the same rule as bigint columns, so nothing is ever rounded.
 */
export function jsonNumber(text: string): number | string {
  if (/^-?\d+$/.test(text)) return exactInteger(BigInt(text));
  const number = Number(text);
  if (!Number.isFinite(number) || significantDigits(text) > 15) return text;
  // 1e-400 parses to 0: only a zero written as zero may become 0.
  if (number === 0 && significantDigits(text) > 0) return text;
  return number;
}

/** Sets a key on a plain object, `__proto__` included, without touching the prototype. */
export function setKey(
  target: { [key: string]: DocumentValue },
  key: string,
  value: DocumentValue,
) {
  if (key === '__proto__') {
    Object.defineProperty(target, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    target[key] = value;
  }
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const LITERALS: [string, DocumentValue][] = [
  ['true', true],
  ['false', false],
  ['null', null],
];
// Sticky: matches at lastIndex only, on the whole text (numerics reach 131072 digits).
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * Parses JSON text (PostgreSQL json/jsonb) into a document value without ever going through a
 * double: numbers follow `jsonNumber`. Duplicate keys, which `json` keeps verbatim, resolve to
 * the last one, as PostgreSQL's own json operators do. Iterative, so no nesting depth PostgreSQL
 * accepts can overflow the stack.
 */
export function parseJsonText(text: string, field: string): DocumentValue {
  let i = 0;
  const fail = (what: string): never => {
    throw new ChangeEventDecodeError(`field "${field}": invalid JSON text (${what} at ${i})`);
  };
  const skip = () => {
    while (i < text.length && WHITESPACE.has(text[i])) i++;
  };
  const readString = (): string => {
    // text[i] is the opening quote.
    let out = '';
    let start = ++i;
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text[i];
      if (c === '"') {
        out += text.slice(start, i++);
        return out;
      }
      if (c === '\\') {
        out += text.slice(start, i);
        const e = text[i + 1];
        const simple: Record<string, string> = {
          '"': '"',
          '\\': '\\',
          '/': '/',
          b: '\b',
          f: '\f',
          n: '\n',
          r: '\r',
          t: '\t',
        };
        if (e === 'u') {
          const hex = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          i += 6;
        } else if (e !== undefined && e in simple) {
          out += simple[e];
          i += 2;
        } else {
          fail('bad escape');
        }
        start = i;
        continue;
      }
      i++;
    }
  };
  const readScalar = (): DocumentValue => {
    if (text[i] === '"') return readString();
    for (const [word, value] of LITERALS) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return value;
      }
    }
    NUMBER.lastIndex = i;
    const match = NUMBER.exec(text);
    if (!match) return fail('unexpected character');
    i += match[0].length;
    return jsonNumber(match[0]);
  };

  type Frame =
    | { kind: 'array'; value: DocumentValue[] }
    | { kind: 'object'; value: { [key: string]: DocumentValue }; key: string };
  const stack: Frame[] = [];
  let result: DocumentValue | undefined;
  const emit = (value: DocumentValue) => {
    const top = stack[stack.length - 1];
    if (!top) result = value;
    else if (top.kind === 'array') top.value.push(value);
    else setKey(top.value, top.key, value);
  };
  const readKey = (frame: Frame & { kind: 'object' }) => {
    skip();
    if (text[i] !== '"') fail('expected a key');
    frame.key = readString();
    skip();
    if (text[i++] !== ':') fail('expected ":"');
  };

  skip();
  for (;;) {
    skip();
    const c = text[i];
    if (c === '[') {
      i++;
      const frame: Frame = { kind: 'array', value: [] };
      emit(frame.value);
      stack.push(frame);
      skip();
      if (text[i] === ']') {
        i++;
        stack.pop();
      } else continue;
    } else if (c === '{') {
      i++;
      const frame: Frame = { kind: 'object', value: {}, key: '' };
      emit(frame.value);
      stack.push(frame);
      skip();
      if (text[i] === '}') {
        i++;
        stack.pop();
      } else {
        readKey(frame);
        continue;
      }
    } else {
      if (i >= text.length) fail('unexpected end');
      emit(readScalar());
    }
    // After a value: close containers or move to the next element.
    for (;;) {
      skip();
      const top = stack[stack.length - 1];
      if (!top) {
        if (i < text.length) fail('trailing characters');
        return result as DocumentValue;
      }
      const close = top.kind === 'array' ? ']' : '}';
      if (text[i] === close) {
        i++;
        stack.pop();
        continue;
      }
      if (text[i] !== ',') fail(`expected "," or "${close}"`);
      i++;
      if (top.kind === 'object') readKey(top);
      break;
    }
  }
}
