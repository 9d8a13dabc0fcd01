// Precompresses every built file with brotli and gzip (Node's zlib, at the
// highest levels: this runs once per build, the server then never compresses).
// A compressed copy that is not smaller than the original is not kept.
import { readdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';

const dir = process.argv[2] ?? 'dist';

function walk(d) {
  for (const name of readdirSync(d)) {
    const p = join(d, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (!p.endsWith('.gz') && !p.endsWith('.br')) squeeze(p);
  }
}

function squeeze(p) {
  const raw = readFileSync(p);
  const br = brotliCompressSync(raw, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
    },
  });
  const gz = gzipSync(raw, { level: 9 });
  if (br.length < raw.length) writeFileSync(p + '.br', br);
  if (gz.length < raw.length) writeFileSync(p + '.gz', gz);
}

walk(dir);
