// ONNX Runtime (CPU) latency of an exported Sori model on features of `seconds` of audio.
// Usage: node bench/ort_latency.js model.onnx batch seconds [runs] [threads]
const path = require('path');
const ort = require(path.join(__dirname, '..', 'tests', 'export', 'node_modules', 'onnxruntime-node'));

async function main() {
  const [model, batchArg, secondsArg, runsArg, threadsArg] = process.argv.slice(2);
  const batch = Number(batchArg), frames = Math.floor(Number(secondsArg) * 100) + 1, runs = Number(runsArg || 20);
  const opts = { intraOpNumThreads: Number(threadsArg || 1), interOpNumThreads: 1 };
  const session = await ort.InferenceSession.create(model, opts);
  const feats = new Float32Array(batch * 80 * frames).map(() => Math.random() * 2 - 1);
  const lengths = new BigInt64Array(batch).fill(BigInt(frames - 1));
  const feeds = { audio_signal: new ort.Tensor('float32', feats, [batch, 80, frames]),
                  length: new ort.Tensor('int64', lengths, [batch]) };
  for (let i = 0; i < 3; ++i) await session.run(feeds);
  const times = [];
  for (let i = 0; i < runs; ++i) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(`ONNX Runtime CPU batch ${batch} x ${secondsArg} s: median ${times[Math.floor(runs / 2)].toFixed(1)} ms ` +
              `(min ${times[0].toFixed(1)}, max ${times[runs - 1].toFixed(1)}, ${runs} runs)`);
}
main().catch((e) => { console.error(e); process.exit(1); });
