'use strict';
// Peer: mustache.js. The template is parsed once; render() reuses the cache.
const Mustache = require('../node_modules/mustache');
const { run } = require('./common');

run((source, partials) => {
  Mustache.parse(source);
  return (view) => Mustache.render(source, view, partials);
});
