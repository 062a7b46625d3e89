// Writes test/fixtures/urns.json: what the dev stack registers today, in each of its shapes. Run it
// only when a change is meant to move URNs (and then give the moved resources aliases).
//
//   npm run -s capture:urns

import { writeFileSync } from "node:fs";
import path from "node:path";

import { captureUrns } from "./urn-graph";

const FIXTURE = path.join(__dirname, "..", "fixtures", "urns.json");

captureUrns().then(
  (urns) => {
    writeFileSync(FIXTURE, `${JSON.stringify(urns, null, 2)}\n`);
    console.log(`wrote ${path.relative(process.cwd(), FIXTURE)}`);
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
