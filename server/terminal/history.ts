// The last stretch of a terminal's output, by absolute byte offset, so that a
// client whose connection dropped can resume from the offset it has with just
// the bytes it missed, instead of a full screen snapshot.

export class OutputHistory {
  private chunks: Uint8Array[] = [];
  private size = 0;
  /** Offset of the first byte held. */
  private start = 0;

  constructor(private readonly capacity: number) {}

  /** Offset just past the newest byte: everything ever appended. */
  get end(): number {
    return this.start + this.size;
  }

  append(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    // drop whole chunks from the front while what stays still covers the capacity
    while (this.chunks.length > 1 && this.size - this.chunks[0]!.length >= this.capacity) {
      const dropped = this.chunks.shift()!;
      this.size -= dropped.length;
      this.start += dropped.length;
    }
  }

  /** The bytes from `offset` to the end, or undefined when they are no longer (or never were) all here. */
  since(offset: number): Uint8Array | undefined {
    if (offset < this.start || offset > this.end) return undefined;
    const out = new Uint8Array(this.end - offset);
    let pos = this.start;
    let written = 0;
    for (const chunk of this.chunks) {
      const chunkEnd = pos + chunk.length;
      if (chunkEnd > offset) {
        const from = Math.max(0, offset - pos);
        out.set(chunk.subarray(from), written);
        written += chunk.length - from;
      }
      pos = chunkEnd;
    }
    return out;
  }
}
