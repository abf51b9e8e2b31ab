#!/usr/bin/env node
// Times an ONNX model with ONNX Runtime (npm onnxruntime-node, CPU) the way bench/run.py
// compares engines: intra-op threads as given, one inter-op thread, sequential execution,
// all graph optimisations. Prints one JSON object on stdout; diagnostics go to stderr.
//
// usage: node bench/ort_bench.js MODEL.onnx --input IN.npy [--output OUT.npy]
//            [-t THREADS] [-r RUNS] [-w WARMUP]
//        node bench/ort_bench.js --baseline      (RSS of node + onnxruntime, no session)
//
// --input is a float32 C-order .npy of the model's (first) input's shape. With --output,
// the output of one run on that input is written as a float32 .npy (before timing).
// The timed runs reuse the same input tensor. peak_rss_bytes is the process's peak resident
// set (process.resourceUsage().maxRSS), so it includes node itself (see --baseline).
'use strict';

const fs = require('fs');
const path = require('path');

function die(msg) {
  process.stderr.write('ort_bench: ' + msg + '\n');
  process.exit(2);
}

function loadOrt() {
  // Prefer the copy that bench/run.py installs next to this script.
  const local = path.join(__dirname, 'node_modules', 'onnxruntime-node');
  try {
    return require(local);
  } catch (e) {
    try {
      return require('onnxruntime-node');
    } catch (e2) {
      die('cannot load onnxruntime-node (run bench/run.py, or: npm install --prefix bench ' +
          '--ignore-scripts onnxruntime-node@1.30.0): ' + e2.message);
    }
  }
}

function ortVersion() {
  for (const p of [path.join(__dirname, 'node_modules', 'onnxruntime-node', 'package.json')]) {
    try { return JSON.parse(fs.readFileSync(p, 'utf8')).version; } catch (e) { /* next */ }
  }
  return 'unknown';
}

// --- minimal .npy reader/writer: float32 (or float64, converted), C order -------------------

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf[0] !== 0x93 || buf.toString('latin1', 1, 6) !== 'NUMPY') {
    die(file + ': not a .npy file');
  }
  const major = buf[6];
  let hlen, hstart;
  if (major === 1) { hlen = buf.readUInt16LE(8); hstart = 10; }
  else if (major === 2 || major === 3) { hlen = buf.readUInt32LE(8); hstart = 12; }
  else die(file + ': unsupported .npy version ' + major);
  const header = buf.toString('latin1', hstart, hstart + hlen);
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shapeM = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shapeM) die(file + ': bad .npy header: ' + header);
  if (fortran[1] === 'True') die(file + ': Fortran-order arrays are not supported');
  const shape = shapeM[1].split(',').map((s) => s.trim()).filter((s) => s.length)
    .map((s) => parseInt(s, 10));
  const count = shape.reduce((a, b) => a * b, 1);
  const off = hstart + hlen;
  const data = new Float32Array(count);
  if (descr[1] === '<f4' || descr[1] === '=f4') {
    if (buf.length - off < count * 4) die(file + ': truncated');
    for (let i = 0; i < count; i++) data[i] = buf.readFloatLE(off + 4 * i);
  } else if (descr[1] === '<f8' || descr[1] === '=f8') {
    if (buf.length - off < count * 8) die(file + ': truncated');
    for (let i = 0; i < count; i++) data[i] = buf.readDoubleLE(off + 8 * i);
  } else {
    die(file + ': dtype ' + descr[1] + ' not supported (float32 or float64 only)');
  }
  return { shape, data };
}

function writeNpy(file, shape, data) {
  const shapeStr = shape.length === 1 ? '(' + shape[0] + ',)' : '(' + shape.join(', ') + ')';
  let header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shapeStr + ', }';
  // magic(6) + version(2) + len(2) + header + '\n' padded to a multiple of 64
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header + ' '.repeat(total - 10 - header.length - 1) + '\n';
  const out = Buffer.alloc(total + data.length * 4);
  out[0] = 0x93;
  out.write('NUMPY', 1, 'latin1');
  out[6] = 1; out[7] = 0;
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, 'latin1');
  for (let i = 0; i < data.length; i++) out.writeFloatLE(data[i], total + 4 * i);
  const tmp = file + '.tmp';
  fs.writeFileSync(tmp, out);
  fs.renameSync(tmp, file);
}

// --- statistics -----------------------------------------------------------------------------

function quantile(sorted, q) {
  // linear interpolation between closest ranks (numpy's default)
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function parseArgs(argv) {
  const a = { model: null, input: null, output: null, threads: 1, runs: 20, warmup: 3,
              baseline: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const next = () => { if (i + 1 >= argv.length) die(k + ' needs a value'); return argv[++i]; };
    if (k === '--input' || k === '-i') a.input = next();
    else if (k === '--output' || k === '-o') a.output = next();
    else if (k === '-t' || k === '--threads') a.threads = parseInt(next(), 10);
    else if (k === '-r' || k === '--runs') a.runs = parseInt(next(), 10);
    else if (k === '-w' || k === '--warmup') a.warmup = parseInt(next(), 10);
    else if (k === '--baseline') a.baseline = true;
    else if (k === '-h' || k === '--help') {
      process.stdout.write(fs.readFileSync(__filename, 'utf8').split('\n').slice(1, 13)
        .map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
      process.exit(0);
    } else if (k.startsWith('-')) die('unknown option ' + k);
    else if (a.model === null) a.model = k;
    else die('unexpected argument ' + k);
  }
  if (!a.baseline) {
    if (!a.model) die('no model given');
    if (!a.input) die('--input IN.npy is required');
    if (!(a.threads >= 1)) die('--threads must be >= 1');
    if (!(a.runs >= 1)) die('--runs must be >= 1');
    if (!(a.warmup >= 0)) die('--warmup must be >= 0');
  }
  return a;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const ort = loadOrt();
  const version = ortVersion();
  if (args.baseline) {
    process.stdout.write(JSON.stringify({
      engine: 'onnxruntime', ort_version: version,
      peak_rss_bytes: process.resourceUsage().maxRSS * 1024 }) + '\n');
    return;
  }
  const opts = {
    executionProviders: ['cpu'],
    intraOpNumThreads: args.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
  const t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(args.model, opts);
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;

  const x = readNpy(args.input);
  const feeds = {};
  feeds[session.inputNames[0]] = new ort.Tensor('float32', x.data, x.shape);
  const outName = session.outputNames[0];

  if (args.output) {
    const res = await session.run(feeds);
    const y = res[outName];
    writeNpy(args.output, y.dims, y.data);
  }
  for (let i = 0; i < args.warmup; i++) await session.run(feeds);
  const times = [];
  for (let i = 0; i < args.runs; i++) {
    const a = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - a) / 1e6);
  }
  const sorted = times.slice().sort((p, q) => p - q);
  const result = {
    engine: 'onnxruntime',
    ort_version: version,
    model: args.model,
    threads: args.threads,
    runs: args.runs,
    warmup: args.warmup,
    load_ms: loadMs,
    median_ms: quantile(sorted, 0.5),
    min_ms: sorted[0],
    p90_ms: quantile(sorted, 0.9),
    mean_ms: times.reduce((p, q) => p + q, 0) / times.length,
    max_ms: sorted[sorted.length - 1],
    peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
  };
  if (session.release) await session.release();
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e) => die(e && e.stack ? e.stack : String(e)));
