'use strict';
// Peer: hogan.js. The template and partials are compiled once.
const Hogan = require('../node_modules/hogan.js');
const { run } = require('./common');

run((source, partials) => {
  const template = Hogan.compile(source);
  const compiled = {};
  for (const name of Object.keys(partials)) compiled[name] = Hogan.compile(partials[name]);
  return (view) => template.render(view, compiled);
});
