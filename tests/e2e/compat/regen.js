#!/usr/bin/env node
// Regenerates expected.txt in every case folder of this directory with
// mustache.js 4.2.0, the reference implementation Rapport's output is checked
// against (see README.md here). Each case folder holds template.mustache,
// data.json and any partials as NAME.mustache; expected.txt is what
// mustache.js renders, byte for byte.
//
// Usage: node tests/e2e/compat/regen.js [PATH-TO-MUSTACHE-JS-PACKAGE]
// The package path defaults to whatever require('mustache') finds, so
// NODE_PATH works too.
'use strict';

const fs = require('fs');
const path = require('path');

const mustache = require(process.argv[2] ? path.resolve(process.argv[2]) : 'mustache');
if (mustache.version !== '4.2.0') {
  console.error(`regen.js: expected mustache.js 4.2.0, found ${mustache.version}`);
  process.exit(2);
}

const here = __dirname;
const cases = fs
  .readdirSync(here, {withFileTypes: true})
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

for (const name of cases) {
  const dir = path.join(here, name);
  const partials = {};
  for (const file of fs.readdirSync(dir)) {
    if (file.endsWith('.mustache') && file !== 'template.mustache') {
      partials[file.slice(0, -'.mustache'.length)] = fs.readFileSync(path.join(dir, file), 'utf8');
    }
  }
  const template = fs.readFileSync(path.join(dir, 'template.mustache'), 'utf8');
  const data = JSON.parse(fs.readFileSync(path.join(dir, 'data.json'), 'utf8'));
  // mustache.js caches parsed templates by their text; start each case clean.
  mustache.clearCache();
  const out = mustache.render(template, data, partials);
  fs.writeFileSync(path.join(dir, 'expected.txt'), out);
  console.log(`${name}: ${Buffer.byteLength(out)} bytes`);
}
