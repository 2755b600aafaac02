import { StringDecoder } from "node:string_decoder";

/** Splits a stream of newline-ended JSON documents (a watch) into lines, refusing one over MAXBYTES. */
export class LineSplitter {
  private pending = "";
  private readonly decoder = new StringDecoder("utf8");

  constructor(private readonly maxBytes: number) {}

  /** The complete lines CHUNK ends; throws once a line grows past the bound. */
  push(chunk: Buffer): string[] {
    const text = this.pending + this.decoder.write(chunk);
    const lines = text.split("\n");
    this.pending = lines.pop() ?? "";
    if (this.pending.length > this.maxBytes) throw new Error(`a line over ${this.maxBytes} bytes`);
    return lines.filter((line) => line.trim() !== "");
  }
}
