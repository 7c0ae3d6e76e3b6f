// Better Auth half of the vectors/passwords.json generator.
//
// Run by vectors/generate/passwords.py (it calls `node passwords_better_auth.mjs`
// in this folder and merges the output). Needs `npm ci` here first.
//
// Prints one JSON object on stdout:
//   {"versions": {...}, "verify": [case, ...]}
// Every case is checked with Better Auth's own verifyPassword before it is
// printed: the password (and every "also_verifies" entry) must verify, and
// every "wrong" entry must not. Any failure exits non-zero.
//
// The algorithm (read from node_modules/@better-auth/utils/dist/password.node.mjs,
// which better-auth/crypto re-exports under Node's "node" export condition):
//   salt = randomBytes(16).toString("hex")          // 32 lowercase hex chars
//   key  = scrypt(password.normalize("NFKC"), salt,  // both JS strings -> UTF-8 bytes
//                 dkLen = 64, {N: 16384, r: 16, p: 1, maxmem: 128 * N * r * 2})
//   hash = `${salt}:${key.toString("hex")}`
// verifyPassword: [salt, key] = hash.split(":"); throws if either is empty;
// recomputes with the salt *string* and compares lowercase hex with ===.

import { readFileSync } from "node:fs";
import { hashPassword, verifyPassword } from "better-auth/crypto";

// Neither package exports "./package.json", so read the installed files.
const pkgVersion = (name) =>
  JSON.parse(readFileSync(new URL(`./node_modules/${name}/package.json`, import.meta.url), "utf8")).version;
const versions = {
  "better-auth": pkgVersion("better-auth"),
  // The implementation actually lives here; better-auth pins it exactly.
  "@better-auth/utils": pkgVersion("@better-auth/utils"),
  node: process.versions.node,
};

// Same fixed order every run, so the output's structure is deterministic.
const CASES = [
  {
    id: "better-auth-scrypt-ascii",
    password: "better-auth-Passw0rd!",
    wrong: ["better-auth-Passw0rd?", "Better-auth-Passw0rd!"],
  },
  {
    // NFD input: "pässwörd-ünïcode" with combining diaeresis (U+0308).
    // Better Auth hashes NFKC(password), so the NFC spelling verifies too.
    id: "better-auth-scrypt-nfd",
    password: "pa\u0308sswo\u0308rd-u\u0308ni\u0308code",
    also_verifies: ["p\u00e4ssw\u00f6rd-\u00fcn\u00efcode"],
    wrong: ["passwo\u0308rd-u\u0308ni\u0308code", "pa\u0308sswo\u0308rd-u\u0308ni\u0308codE"],
    note:
      "Password is given in NFD. Better Auth NFKC-normalises before scrypt, " +
      "so the NFC form (in also_verifies) must verify as well.",
  },
  {
    // NFKC (not just NFC): the U+FB01 ligature and fullwidth letters fold.
    id: "better-auth-scrypt-nfkc-compat",
    password: "\ufb01rst-\uff30\uff41\uff53\uff53-2024",
    also_verifies: ["first-Pass-2024"],
    wrong: ["first-pass-2024", "\ufb01rst-\uff30\uff41\uff53\uff53-2025"],
    note:
      "Contains U+FB01 (fi ligature) and fullwidth letters; NFKC maps it to " +
      "'first-Pass-2024', which therefore verifies too. NFC alone would not.",
  },
];

function fail(msg) {
  process.stderr.write(`passwords_better_auth.mjs: ${msg}\n`);
  process.exit(1);
}

const out = [];
for (const c of CASES) {
  const hash = await hashPassword(c.password);
  if (!/^[0-9a-f]{32}:[0-9a-f]{128}$/.test(hash)) fail(`${c.id}: unexpected hash shape ${hash}`);
  for (const pw of [c.password, ...(c.also_verifies ?? [])]) {
    if (!(await verifyPassword({ hash, password: pw }))) fail(`${c.id}: ${JSON.stringify(pw)} does not verify`);
  }
  for (const pw of c.wrong) {
    if (await verifyPassword({ hash, password: pw })) fail(`${c.id}: wrong ${JSON.stringify(pw)} verifies`);
  }
  const rec = {
    id: c.id,
    format: "better_auth_scrypt",
    source: `better-auth ${versions["better-auth"]}`,
    hash,
    password: c.password,
  };
  if (c.also_verifies) rec.also_verifies = c.also_verifies;
  rec.wrong = c.wrong;
  rec.needs_rehash = true;
  if (c.note) rec.note = c.note;
  out.push(rec);
}

process.stdout.write(JSON.stringify({ versions, verify: out }) + "\n");
