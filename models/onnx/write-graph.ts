// Builds one ONNX graph into `onnxPath`, its large initializers in `<file>_data` beside it.
import { writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ExternalDataWriter } from './external-data.ts';
import { GraphBuilder, type Opset } from './graph.ts';

const OPSETS: Opset[] = [
  { domain: '', version: 17 },
  { domain: 'com.microsoft', version: 1 },
];

export function writeGraph(onnxPath: string, graphName: string, build: (g: GraphBuilder) => void): void {
  const dataName = `${basename(onnxPath)}_data`;
  const external = new ExternalDataWriter(join(dirname(onnxPath), dataName), dataName);
  try {
    const g = new GraphBuilder(external);
    build(g);
    writeFileSync(onnxPath, g.serialize(graphName, OPSETS));
  } finally {
    external.close();
  }
}
