import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import { compressFrameSync } from 'lz4-napi';
import { registerKafkaCodecs } from './kafka-compression';
import { decompressLz4Frame, Lz4FrameError } from './lz4-frame';

/** The input of the fixture: Connect-like JSON records (128 KB), then 8,000 xorshift bytes. */
function fixtureInput(): Buffer {
  const records: string[] = [];
  for (let i = 0; i < 700; i++) {
    records.push(
      JSON.stringify({
        schema: {
          type: 'struct',
          fields: [
            { type: 'int32', field: 'id' },
            {
              type: 'string',
              optional: true,
              field: 'name',
              parameters: { '__debezium.source.column.type': 'TEXT' },
            },
          ],
        },
        payload: { id: i, name: `row ${i} ${'x'.repeat(i % 37)}` },
      }),
    );
  }
  const text = Buffer.from(records.join('\n')).subarray(0, 131072);
  const noise = Buffer.alloc(8000);
  let x = 2463534242;
  for (let i = 0; i < noise.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    noise[i] = x & 255;
  }
  return Buffer.concat([text, noise]);
}

const fixture = JSON.parse(
  readFileSync(join(__dirname, 'fixtures', 'kafka-lz4-frame.json'), 'utf8'),
) as { inputSha256: string; frameBase64: string };

describe('decompressLz4Frame', () => {
  it('decodes a frame written by the Kafka Java client (two compressed blocks and a stored one)', () => {
    const input = fixtureInput();
    expect(createHash('sha256').update(input).digest('hex')).toBe(fixture.inputSha256);
    const decoded = decompressLz4Frame(Buffer.from(fixture.frameBase64, 'base64'));
    expect(decoded.equals(input)).toBe(true);
  });

  it('round-trips what another LZ4 implementation compresses: text, random bytes, empty', () => {
    const repetitive = Buffer.from(
      '{"schema":{"type":"struct"},"payload":{"id":1}}'.repeat(20_000),
    );
    for (const input of [repetitive, randomBytes(300_000), Buffer.alloc(0), Buffer.from('a')]) {
      expect(decompressLz4Frame(compressFrameSync(input)).equals(input)).toBe(true);
    }
  });

  it('refuses what is not a whole frame instead of returning garbage', () => {
    const frame = Buffer.from(fixture.frameBase64, 'base64');
    expect(() => decompressLz4Frame(Buffer.from('not lz4 at all'))).toThrow(Lz4FrameError);
    expect(() => decompressLz4Frame(frame.subarray(0, frame.length - 100))).toThrow(/truncated/);
    const corrupt = Buffer.from(frame);
    // A match offset pointing before the start of the output.
    corrupt.fill(0xff, 12, 40);
    expect(() => decompressLz4Frame(corrupt)).toThrow(Lz4FrameError);
  });
});

/** A frame of the given blocks (64 KB block size; no checksums), optionally with a content size. */
function frameOf(blocks: { data: number[]; stored?: boolean }[], contentSize?: bigint): Buffer {
  const header = [0x04, 0x22, 0x4d, 0x18, contentSize === undefined ? 0x60 : 0x68, 0x40];
  const parts = [Buffer.from(header)];
  if (contentSize !== undefined) {
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(contentSize);
    parts.push(size);
  }
  parts.push(Buffer.from([0])); // header checksum, not verified
  for (const block of blocks) {
    const word = Buffer.alloc(4);
    word.writeUInt32LE((block.data.length | (block.stored ? 0x80000000 : 0)) >>> 0);
    parts.push(word, Buffer.from(block.data));
  }
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}

describe('decompressLz4Frame on frames that are not well formed', () => {
  it('decodes a hand-built frame: literals, then an overlapping match, then literals', () => {
    // 'a', match offset 1 length 4 → 'aaaaa', then 'b'.
    const frame = frameOf([{ data: [0x10, 0x61, 0x01, 0x00, 0x10, 0x62] }]);
    expect(decompressLz4Frame(frame).toString()).toBe('aaaaab');
  });

  it('refuses a block that ends inside a match offset, or with a match instead of literals', () => {
    expect(() => decompressLz4Frame(frameOf([{ data: [0x10, 0x61, 0x01] }]))).toThrow(
      /inside a match offset/,
    );
    expect(() => decompressLz4Frame(frameOf([{ data: [0x10, 0x61, 0x01, 0x00] }]))).toThrow(
      /ends with a match/,
    );
    expect(() => decompressLz4Frame(frameOf([{ data: [0xf0, 0xff] }]))).toThrow(
      /inside a literal length/,
    );
  });

  it('allocates by what the blocks can hold, never by the size the header claims', () => {
    const lying = frameOf([{ data: [0x61, 0x62, 0x63], stored: true }], 3n << 30n);
    expect(() => decompressLz4Frame(lying)).toThrow(/3 bytes decoded, the header says 3221225472/);
    const honest = frameOf([{ data: [0x61, 0x62, 0x63], stored: true }], 3n);
    const decoded = decompressLz4Frame(honest);
    expect(decoded.toString()).toBe('abc');
    expect(decoded.buffer.byteLength).toBeLessThan(1 << 20);
  });
});

describe('registerKafkaCodecs', () => {
  it('gives kafkajs an LZ4 codec that reads Kafka’s frames and refuses to write any', async () => {
    registerKafkaCodecs();
    const codec = (
      CompressionCodecs[CompressionTypes.LZ4] as () => {
        compress: (encoder: { buffer: Buffer }) => Promise<Buffer>;
        decompress: (buffer: Buffer) => Promise<Buffer>;
      }
    )();
    const decoded = await codec.decompress(Buffer.from(fixture.frameBase64, 'base64'));
    expect(decoded.equals(fixtureInput())).toBe(true);
    await expect(codec.compress({ buffer: Buffer.from('x') })).rejects.toThrow(
      /produce uncompressed/,
    );
  });
});
