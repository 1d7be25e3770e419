// Runs an ONNX model with ONNX Runtime (onnxruntime-node) for Sori's export parity tests.
// Usage: node ort_run.js model.onnx spec.json out_dir
//   spec.json: {"inputs": [{"name", "type": "float32"|"int64", "dims": [...], "file": raw little-endian data}]}
// Writes out_dir/<output>.bin (raw data) and out_dir/outputs.json (dims and types).
const ort = require('onnxruntime-node');
const fs = require('fs');

async function main() {
  const [model, specPath, outDir] = process.argv.slice(2);
  const spec = JSON.parse(fs.readFileSync(specPath, 'utf8'));
  const feeds = {};
  for (const input of spec.inputs) {
    const buf = fs.readFileSync(input.file);
    // Small Buffers share a pooled ArrayBuffer: slice by byteOffset/byteLength.
    const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    const data = input.type === 'float32' ? new Float32Array(ab) : new BigInt64Array(ab);
    feeds[input.name] = new ort.Tensor(input.type, data, input.dims);
  }
  const session = await ort.InferenceSession.create(model);
  const outputs = await session.run(feeds);
  const meta = {};
  for (const [name, tensor] of Object.entries(outputs)) {
    const d = tensor.data;
    fs.writeFileSync(`${outDir}/${name}.bin`, Buffer.from(d.buffer, d.byteOffset, d.byteLength));
    meta[name] = { dims: tensor.dims, type: tensor.type };
  }
  fs.writeFileSync(`${outDir}/outputs.json`, JSON.stringify(meta));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
