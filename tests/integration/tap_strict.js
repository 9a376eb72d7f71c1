// node tap_strict.js FILE: parse FILE with the npm package tap-parser in
// strict mode (Non-TAP data is an error there).  Prints one line of counts
// and every parse error; exits 1 on a parse error, a missing plan or no test
// point, and when a failed point's YAML diagnostics did not parse.
const { Parser } = require("tap-parser");
const fs = require("fs");

const p = new Parser({ strict: true }, (r) => {
    const errors = r.failures.filter((f) => f.tapError);
    const failed = r.failures.filter((f) => !f.tapError);
    const diag = failed.filter((f) => f.diag && typeof f.diag === "object" && f.diag.message);
    for (const f of errors) console.log("tapError:", f.tapError, JSON.stringify(f.data || ""));
    console.log(`count=${r.count} pass=${r.pass} fail=${r.fail} plan=${r.plan.start}..${r.plan.end} ` +
                `tapErrors=${errors.length} failuresWithDiagnostics=${diag.length}/${failed.length}`);
    process.exitCode = errors.length || !r.plan.end || !r.count || diag.length !== failed.length ? 1 : 0;
});
p.end(fs.readFileSync(process.argv[2]));
