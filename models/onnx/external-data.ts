// Appends initializer bytes to the external data file that sits next to the .onnx file,
// tensor by tensor, so weights are never gathered in memory (and the 2 GiB protobuf cap
// does not apply).
import { closeSync, openSync, writeSync } from 'node:fs';

/** Offsets aligned to 4 KiB so ONNX Runtime can memory-map each tensor. */
const ALIGNMENT = 4096;

export interface ExternalLocation {
  location: string;
  offset: number;
  length: number;
}

export class ExternalDataWriter {
  private readonly fd: number;
  private offset = 0;

  /** `location` is the file name as recorded in the model, relative to the .onnx file. */
  constructor(path: string, readonly location: string) {
    this.fd = openSync(path, 'w');
  }

  append(bytes: Uint8Array): ExternalLocation {
    const padding = (ALIGNMENT - (this.offset % ALIGNMENT)) % ALIGNMENT;
    if (padding) this.writeAll(new Uint8Array(padding));
    const offset = this.offset;
    this.writeAll(bytes);
    return { location: this.location, offset, length: bytes.length };
  }

  private writeAll(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done);
    this.offset += bytes.length;
  }

  close(): void {
    closeSync(this.fd);
  }
}
