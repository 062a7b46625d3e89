// Preloaded into the program `npm run bench:launch` measures (NODE_OPTIONS=--require): writes the
// process's CPU time (all threads, user + system) when it exits. On a shared machine the CPU time
// of a run varies far less than its wall time, so the benchmark reports both.
// `process.getBuiltinModule` (Node 20.16+) rather than require: the lint rules forbid require().
const { writeFileSync } = process.getBuiltinModule("node:fs");

process.on("exit", () => {
  const { user, system } = process.cpuUsage();
  writeFileSync(process.env.BENCH_CPU_USAGE_FILE, JSON.stringify({ userUs: user, systemUs: system }));
});
