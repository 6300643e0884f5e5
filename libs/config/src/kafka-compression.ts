import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import { decompressLz4Frame } from './lz4-frame';

/** We read LZ4 batches; every producer of ours writes uncompressed. */
export class Lz4CompressionUnsupportedError extends Error {
  constructor() {
    super('searchsync clients do not produce LZ4-compressed batches; produce uncompressed');
    this.name = 'Lz4CompressionUnsupportedError';
  }
}

/**
 * kafkajs reads only gzip by itself. Debezium's producer writes LZ4 (the JSON converter repeats
 * each table's schema in every record, which LZ4 shrinks about tenfold), so every client that
 * reads table topics needs the codec; registering it twice is harmless.
 */
export function registerKafkaCodecs(): void {
  CompressionCodecs[CompressionTypes.LZ4] = () => ({
    compress: () => Promise.reject(new Lz4CompressionUnsupportedError()),
    decompress: (buffer: Buffer) => Promise.resolve(decompressLz4Frame(buffer)),
  });
}
