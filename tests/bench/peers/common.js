'use strict';
// Shared driver for the JavaScript peers: read the partials directory and the
// JSONL data, render every line with the engine's compiled template, and write
// the outputs concatenated to stdout in large synchronous writes.
//
// Usage: node PEER.js TEMPLATE PARTIALS_DIR DATA...
const fs = require('fs');
const path = require('path');

const FLUSH_AT = 1 << 20;

function writeAll(text) {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(1, buf, off, buf.length - off);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
    }
  }
}

function run(compile) {
  const [templatePath, partialsDir, ...dataPaths] = process.argv.slice(2);
  if (!templatePath || !partialsDir || dataPaths.length === 0) {
    process.stderr.write('usage: ' + path.basename(process.argv[1]) +
      ' TEMPLATE PARTIALS_DIR DATA...\n');
    process.exit(2);
  }
  const partials = {};
  for (const f of fs.readdirSync(partialsDir)) {
    if (f.endsWith('.mustache')) {
      partials[f.slice(0, -'.mustache'.length)] =
        fs.readFileSync(path.join(partialsDir, f), 'utf8');
    }
  }
  const render = compile(fs.readFileSync(templatePath, 'utf8'), partials);

  let out = '';
  for (const dataPath of dataPaths) {
    const text = fs.readFileSync(dataPath, 'utf8');
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      if (end > start) {
        out += render(JSON.parse(text.slice(start, end)));
        if (out.length >= FLUSH_AT) {
          writeAll(out);
          out = '';
        }
      }
      start = end + 1;
    }
  }
  writeAll(out);
}

module.exports = { run };
