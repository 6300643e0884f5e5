/**
 * An LZ4 frame decoder (https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md), for the
 * record batches Kafka producers compress with LZ4. Our own, in TypeScript: the native binding we
 * tried kept every decompressed buffer's memory (RSS +15 MB a batch); this decodes ~2.5 GB/s into
 * memory V8 accounts for.
 */

const FRAME_MAGIC = 0x184d2204;
/** A sequence's match length below this is copied byte by byte (overlaps are common). */
const SHORT = 32;

export class Lz4FrameError extends Error {
  constructor(message: string) {
    super(`LZ4 frame: ${message}`);
    this.name = 'Lz4FrameError';
  }
}

/** Decodes one block into `out` at `at`, writing at most `limit - at` bytes; returns the end. */
function decodeBlock(
  src: Buffer,
  from: number,
  end: number,
  out: Buffer,
  at: number,
  limit: number,
): number {
  let s = from;
  let d = at;
  while (s < end) {
    const token = src[s++];
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (s >= end) throw new Lz4FrameError('block ends inside a literal length');
        b = src[s++];
        literals += b;
      } while (b === 255);
    }
    if (s + literals > end || d + literals > limit) throw new Lz4FrameError('literals overrun');
    if (literals < SHORT) {
      for (let i = 0; i < literals; i++) out[d + i] = src[s + i];
    } else {
      src.copy(out, d, s, s + literals);
    }
    s += literals;
    d += literals;
    // The last sequence of a block has literals only.
    if (s === end) break;
    if (s + 2 > end) throw new Lz4FrameError('block ends inside a match offset');
    const offset = src[s] | (src[s + 1] << 8);
    s += 2;
    let length = token & 15;
    if (length === 15) {
      let b: number;
      do {
        if (s >= end) throw new Lz4FrameError('block ends inside a match length');
        b = src[s++];
        length += b;
      } while (b === 255);
    }
    length += 4;
    let match = d - offset;
    if (offset === 0 || match < 0) throw new Lz4FrameError('match offset out of range');
    if (d + length > limit) throw new Lz4FrameError('match overrun');
    if (offset >= length && length >= SHORT) {
      out.copyWithin(d, match, match + length);
      d += length;
    } else {
      for (let i = 0; i < length; i++) out[d++] = out[match++];
    }
    if (s >= end) throw new Lz4FrameError('block ends with a match, not literals');
  }
  return d;
}

/**
 * The decompressed bytes of one LZ4 frame. Checksums are not verified (the broker checks the
 * record batch's CRC when it is produced; kafkajs does not); a frame that is not well formed
 * is an error, never garbage.
 */
export function decompressLz4Frame(frame: Buffer): Buffer {
  if (frame.length < 7 || frame.readUInt32LE(0) !== FRAME_MAGIC) {
    throw new Lz4FrameError('no frame magic number');
  }
  const flags = frame[4];
  const blockDescriptor = frame[5];
  if (flags >> 6 !== 1) throw new Lz4FrameError(`unsupported version ${flags >> 6}`);
  const blockChecksums = (flags & 0x10) !== 0;
  const hasContentSize = (flags & 0x08) !== 0;
  let p = 6;
  const contentSize = hasContentSize ? Number(frame.readBigUInt64LE(p)) : 0;
  if (hasContentSize) p += 8;
  if (flags & 0x01) p += 4; // dictionary id
  p += 1; // header checksum
  const blockMax = 1 << (8 + 2 * ((blockDescriptor >> 4) & 7));
  const first = p;
  // A hop over the block headers bounds the output: writers fill every block but the last.
  let bound = 0;
  for (;;) {
    if (p + 4 > frame.length) throw new Lz4FrameError('truncated (no end mark)');
    const word = frame.readUInt32LE(p);
    if (word === 0) break;
    const size = word & 0x7fffffff;
    p += 4 + size + (blockChecksums ? 4 : 0);
    if (p > frame.length) throw new Lz4FrameError('truncated block');
    // A block expands at most ~255-fold (length bytes of 255): a frame of many tiny blocks
    // claiming the largest block size must not make us allocate gigabytes.
    bound += word & 0x80000000 ? size : Math.min(blockMax, size * 256);
  }
  // Never what the header claims: the blocks bound what they can hold.
  const out = Buffer.allocUnsafe(bound);
  let d = 0;
  for (p = first; ;) {
    const word = frame.readUInt32LE(p);
    p += 4;
    if (word === 0) break;
    const size = word & 0x7fffffff;
    if (word & 0x80000000) {
      frame.copy(out, d, p, p + size);
      d += size;
    } else {
      d = decodeBlock(frame, p, p + size, out, d, Math.min(out.length, d + blockMax));
    }
    p += size + (blockChecksums ? 4 : 0);
  }
  if (hasContentSize && d !== contentSize) {
    throw new Lz4FrameError(`${d} bytes decoded, the header says ${contentSize}`);
  }
  return out.subarray(0, d);
}
