// Builds each JavaScript plugin of this folder into a WebAssembly component
// with componentize-js, every optional feature disabled (stdio, random,
// clocks, http, fetch-event): the component then imports only the
// `taskproof:verifier/host` interface, the one thing the host links.
//
//   npm ci && node build.mjs
import { componentize } from '@bytecodealliance/componentize-js';
import { readFile, writeFile } from 'node:fs/promises';

const wit = new URL('../../wit/verifier.wit', import.meta.url).pathname;
for (const name of process.argv.slice(2).length ? process.argv.slice(2) : ['merkle', 'claim']) {
  const source = await readFile(new URL(`${name}.js`, import.meta.url), 'utf8');
  const { component, imports } = await componentize(source, {
    witPath: wit,
    worldName: 'verifier',
    disableFeatures: ['stdio', 'random', 'clocks', 'http', 'fetch-event'],
  });
  const outside = imports.filter(([iface]) => !iface.startsWith('taskproof:verifier/'));
  if (outside.length) throw new Error(`${name} imports ${JSON.stringify(outside)}`);
  await writeFile(new URL(`${name}.wasm`, import.meta.url), component);
  console.log(`${name}.wasm: ${component.length} bytes, imports ${JSON.stringify(imports)}`);
}
