'use strict';

// The command line of the bench runners: `--quick` and `--help` alone, the names in `valued`
// each followed by its value.

function parseFlags(argv, valued, usage) {
  const flags = {};
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].replace(/^--/, '');
    if (name === 'quick' || name === 'help') flags[name] = true;
    else if (valued.includes(name) && i + 1 < argv.length) flags[name] = argv[++i];
    else throw new Error(`unknown or incomplete flag ${argv[i]}\n${usage}`);
  }
  return flags;
}

module.exports = { parseFlags };
