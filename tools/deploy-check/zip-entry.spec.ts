import { crc32, deflateRawSync } from 'node:zlib';
import { readZipEntry } from './zip-entry';

/** A minimal zip writer for the test: each entry stored (0) or deflated (8). */
function zip(entries: { name: string; data: Buffer; method: 0 | 8; crc?: number }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const body = entry.method === 8 ? deflateRawSync(entry.data) : entry.data;
    const name = Buffer.from(entry.name);
    const crc = entry.crc ?? crc32(entry.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(entry.method, 8);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(entry.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(entry.method, 10);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(entry.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

describe('readZipEntry', () => {
  const helm = Buffer.from('#!/bin/sh\necho helm\n'.repeat(100));
  const archive = zip([
    { name: 'helm/', data: Buffer.alloc(0), method: 0 },
    { name: 'helm/helm', data: helm, method: 8 },
    { name: 'kubectl/kubectl', data: Buffer.from('kubectl'), method: 0 },
  ]);

  it('extracts a deflated and a stored entry', () => {
    expect(readZipEntry(archive, 'helm/helm').equals(helm)).toBe(true);
    expect(readZipEntry(archive, 'kubectl/kubectl').toString()).toBe('kubectl');
  });

  it('names a missing entry', () => {
    expect(() => readZipEntry(archive, 'helm/tiller')).toThrow(
      /helm\/tiller is not in the archive/,
    );
  });

  it('refuses corrupt data (CRC-32) and non-zip input', () => {
    const corrupt = zip([{ name: 'helm/helm', data: helm, method: 8, crc: 1234 }]);
    expect(() => readZipEntry(corrupt, 'helm/helm')).toThrow(/CRC-32 mismatch/);
    expect(() => readZipEntry(Buffer.alloc(100), 'helm/helm')).toThrow(/not a zip archive/);
  });
});
