'use strict';
// Peer: Handlebars in compat mode (Mustache-style lookups up the context
// stack). The template is compiled once, the partials are registered.
const Handlebars = require('../node_modules/handlebars');
const { run } = require('./common');

run((source, partials) => {
  const hb = Handlebars.create();
  for (const name of Object.keys(partials)) hb.registerPartial(name, partials[name]);
  const template = hb.compile(source, { compat: true });
  return (view) => template(view);
});
