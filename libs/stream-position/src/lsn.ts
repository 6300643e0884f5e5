/**
 * PostgreSQL log sequence numbers as PostgreSQL prints them (`16/B374D848`: two hex halves of a
 * 64-bit WAL position) and as Debezium stores them in its offsets (the same position as a number).
 */
const LSN_TEXT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

/** The position of `0/16B3748`-style text; null when the text is not an LSN. */
export function parseLsn(text: string): bigint | null {
  const match = LSN_TEXT.exec(text.trim());
  if (!match) return null;
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

export function formatLsn(position: bigint): string {
  const high = position >> 32n;
  const low = position & 0xffffffffn;
  return `${high.toString(16).toUpperCase()}/${low.toString(16).toUpperCase()}`;
}
