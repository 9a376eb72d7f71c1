// Drives `torn proxy --api` with a Toxiproxy client, the way tests written
// for Toxiproxy do (used by toxiproxy_test.sh).
//   node toxiproxy_client.js API_URL REDIS_PORT
// The client is the npm package toxiproxy-node-client when NODE_PATH finds
// it; prints "ok ..." / "FAIL ..." lines and "N passed, N failed" last.
"use strict";
const net = require("net");
const { Toxiproxy } = require("toxiproxy-node-client");

const [api, redisPort] = process.argv.slice(2);
let pass = 0, fail = 0;
const check = (what, cond, detail) => {
    if (cond) { pass++; console.log(`ok   ${what}`); }
    else { fail++; console.log(`FAIL ${what}${detail ? ": " + detail : ""}`); }
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A connection speaking RESP: ping() resolves with the milliseconds a PONG
// took, or null when none came within limitMs (the reply may still come later).
function connect(port) {
    return new Promise((resolve, reject) => {
        const s = net.connect({ host: "127.0.0.1", port });
        let buf = "", waiters = [];
        s.on("data", (d) => {
            buf += d;
            while (buf.includes("\r\n") && waiters.length) {
                buf = buf.slice(buf.indexOf("\r\n") + 2);
                waiters.shift()();
            }
        });
        s.once("connect", () => resolve({
            ping(limitMs = 5000) {
                const t0 = Date.now();
                return new Promise((res) => {
                    const w = () => { clearTimeout(timer); res(Date.now() - t0); };
                    const timer = setTimeout(() => { waiters.splice(waiters.indexOf(w), 1); res(null); },
                                             limitMs);
                    waiters.push(w);
                    s.write("PING\r\n");
                });
            },
            waitReply(limitMs) {   // the PONG of a ping() that timed out
                return new Promise((res) => {
                    const t = setTimeout(() => res(false), limitMs);
                    waiters.push(() => { clearTimeout(t); res(true); });
                });
            },
            close() { s.destroy(); },
            socket: s,
        }));
        s.once("error", reject);
    });
}
const refused = (port) => connect(port).then((c) => { c.close(); return "connected"; },
                                             (e) => e.code);
const portOf = (addr) => Number(addr.slice(addr.lastIndexOf(":") + 1));
const errText = (p) => p.then(() => "ok", (e) => String(e.message));

// A second upstream: answers every connection with "+OTHER\r\n" lines.
function otherServer() {
    return new Promise((resolve) => {
        const srv = net.createServer((c) => c.on("data", () => c.write("+OTHER\r\n")));
        srv.listen(0, "127.0.0.1", () => resolve(srv));
    });
}
function firstLine(port) {
    return new Promise((resolve) => {
        const s = net.connect({ host: "127.0.0.1", port }, () => s.write("PING\r\n"));
        s.once("data", (d) => { resolve(String(d).trim()); s.destroy(); });
        s.once("error", (e) => resolve(e.code));
        setTimeout(() => { resolve("no reply"); s.destroy(); }, 3000);
    });
}

async function main() {
    const tp = new Toxiproxy(api);
    const version = await tp.getVersion();
    check(`getVersion answers (${version.trim()})`, version.length > 0);
    await tp.reset();
    const proxy = await tp.createProxy({ name: "redis", listen: "127.0.0.1:0",
                                         upstream: `127.0.0.1:${redisPort}` });
    const port = portOf(proxy.listen);
    check(`createProxy: listening on ${proxy.listen}`, port > 0);
    const c = await connect(port);
    const base = await c.ping();
    check(`PING through the proxy (${base} ms)`, base !== null && base < 1000);

    // 1. A toxic applies to the live connection at once, and its removal too.
    const lat = await proxy.addToxic({ type: "latency", attributes: { latency: 300 } });
    const slow = [await c.ping(), await c.ping(), await c.ping()];
    check(`latency 300 added: the next 3 PINGs on the open connection take >= 290 ms (${slow})`,
          slow.every((ms) => ms !== null && ms >= 290));
    check(`an unnamed toxic is named TYPE_STREAM (${lat.name})`, lat.name === "latency_downstream");
    const upd = await lat.update({ attributes: { latency: 600 } });
    const slower = await c.ping();
    check(`toxic.update to 600: the next PING takes >= 590 ms (${slower})`,
          upd.attributes.latency === 600 && slower !== null && slower >= 590);

    // 2. A second unnamed toxic of the same type and stream: 409.
    const dup = await errText(proxy.addToxic({ type: "latency", attributes: { latency: 1 } }));
    check(`a second unnamed latency toxic is refused with 409 (${dup})`, /409/.test(dup));
    await lat.remove();
    const fast = [await c.ping(), await c.ping()];
    check(`latency removed: the very next PINGs are fast (${fast} ms)`,
          fast.every((ms) => ms !== null && ms < 250));

    // 3. timeout on an idle connection blocks the next request.
    const to = await proxy.addToxic({ type: "timeout", attributes: { timeout: 0 } });
    const blocked = await c.ping(800);
    check(`timeout 0 added to an idle connection: the next PING gets no reply (${blocked})`,
          blocked === null);
    await to.remove();
    check("timeout removed: the held reply arrives", await c.waitReply(3000));
    c.close();

    // 5. Unknown attributes are ignored, as Toxiproxy does.
    const extra = await errText(proxy.addToxic({ name: "bw", type: "bandwidth",
                                                 attributes: { rate: 1000, burst: 5 } }));
    check(`an unknown attribute is ignored (${extra})`, extra === "ok");
    const bw = await proxy.getToxic("bw");
    check("getToxic returns it with its known attributes only",
          bw.attributes.rate === 1000 && bw.attributes.burst === undefined);
    await bw.remove();

    // 4. A disabled proxy closes its listener: ECONNREFUSED, not accept+reset.
    const off = await proxy.update({ ...proxy.toJson(), enabled: false });
    check(`disabled (enabled=${off.enabled}): a new connection is refused (${await refused(port)})`,
          off.enabled === false && (await refused(port)) === "ECONNREFUSED");
    const on = await off.update({ ...off.toJson(), enabled: true });
    const back = await connect(port).then(async (k) => { const ms = await k.ping(); k.close(); return ms; },
                                          (e) => e.code);
    check(`enabled again on the same port: PING answers (${back})`,
          on.enabled === true && typeof back === "number");

    // 3. Updates honour upstream and listen.
    const other = await otherServer();
    const moved = await on.update({ ...on.toJson(), upstream: `127.0.0.1:${other.address().port}` });
    check(`upstream updated (${moved.upstream}): new connections reach it (${await firstLine(port)})`,
          moved.upstream.endsWith(`:${other.address().port}`) && (await firstLine(port)) === "+OTHER");
    const spare = await new Promise((r) => { const s = net.createServer();
        s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => r(p)); }); });
    const relisten = await moved.update({ ...moved.toJson(), listen: `127.0.0.1:${spare}` });
    check(`listen updated to :${spare}: it answers, the old port refuses`,
          portOf(relisten.listen) === spare && (await firstLine(spare)) === "+OTHER" &&
          (await refused(port)) === "ECONNREFUSED");
    const all = await tp.getAll();
    check("getAll shows the proxy with its new addresses",
          all.redis && all.redis.listen === relisten.listen && all.redis.upstream === moved.upstream);
    await relisten.remove();
    check("remove: the proxy is gone (404)", /404/.test(await errText(tp.get("redis"))));
    other.close();
}

main().catch((e) => { fail++; console.log(`FAIL client error: ${e && e.stack || e}`); })
    .finally(() => { console.log(`${pass} passed, ${fail} failed`); process.exit(fail ? 1 : 0); });
