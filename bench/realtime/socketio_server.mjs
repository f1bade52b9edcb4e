// bench/realtime's Socket.IO contender: the rooms of docs/REALTIME.md as Socket.IO 4 events, fanned
// out across processes by @socket.io/redis-adapter (node-redis v4 clients, as the adapter's README
// sets them up). One Node process; bench/realtime/run.sh starts two of them on one redis-server.
//
//   node socketio_server.mjs --port PORT --redis redis://127.0.0.1:PORT/0 [--instance NAME]
//
// Events (each with an ack, so the client learns the outcome as outboard's `joined`/`sent`/`left` do):
//   "join"  {room}            -> ack {room, seq}   (seq: this process's counter for the room, 0 if none)
//   "leave" {room}            -> ack {room}
//   "send"  {room, id, text}  -> ack {room, id, seq}; every socket in the room, on every process,
//                                gets "message" {room, seq, id, from, at, text} (the sender too, as
//                                outboard delivers to every connection that joined, its own included)
// What it does NOT do, unlike outboard: no history and no resume (the adapter has none: a message
// published while a client reconnects is lost to it), no de-duplication of a resent `id`, and `seq`
// is a plain counter per room in THIS process, not the room's order across processes (Socket.IO
// has no sequence numbers). No authentication either (outboard checks a session at the upgrade:
// a cost per connection, not per message). So this measures fan-out only, and outboard does more
// work per message (an append to the room's stream in Redis, then the publish).
// Logging is off: one line at start-up, errors only after that.
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";
import { Server } from "socket.io";

const { values: args } = parseArgs({
  options: {
    port: { type: "string" },
    redis: { type: "string" },
    instance: { type: "string", default: "socketio" },
  },
});
if (!args.port || !args.redis) {
  console.error("usage: node socketio_server.mjs --port PORT --redis redis://HOST:PORT/DB [--instance NAME]");
  process.exit(2);
}

// The same naming rule as outboard (docs/REALTIME.md), so both refuse the same rooms.
const ROOM = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const MAX_TEXT_BYTES = 4096;

const pubClient = createClient({ url: args.redis });
const subClient = pubClient.duplicate();
for (const client of [pubClient, subClient]) client.on("error", (err) => console.error("redis:", err.message));
await Promise.all([pubClient.connect(), subClient.connect()]);

// /healthz for run.sh's readiness check; Socket.IO takes /socket.io/ and passes the rest here.
const httpServer = createServer((req, res) => {
  res.writeHead(req.url === "/healthz" ? 200 : 404, { "content-type": "text/plain" });
  res.end(req.url === "/healthz" ? "ok\n" : "not found\n");
});
const io = new Server(httpServer, {
  adapter: createAdapter(pubClient, subClient),
  transports: ["websocket"], // the load generator speaks only the websocket transport
  serveClient: false,
  perMessageDeflate: false, // outboard does not compress either
});

const counters = new Map(); // room -> last seq given out by this process

io.on("connection", (socket) => {
  const from = typeof socket.handshake.query.user === "string" ? socket.handshake.query.user : "bench";
  socket.on("join", (msg, ack) => {
    if (typeof ack !== "function") return;
    if (!msg || typeof msg.room !== "string" || !ROOM.test(msg.room)) return ack({ error: "bad_message" });
    socket.join(msg.room);
    ack({ room: msg.room, seq: counters.get(msg.room) ?? 0 });
  });
  socket.on("leave", (msg, ack) => {
    if (typeof ack !== "function") return;
    if (!msg || typeof msg.room !== "string") return ack({ error: "bad_message" });
    socket.leave(msg.room);
    ack({ room: msg.room });
  });
  socket.on("send", (msg, ack) => {
    if (typeof ack !== "function") return;
    if (!msg || typeof msg.room !== "string" || typeof msg.id !== "string" || typeof msg.text !== "string" ||
        Buffer.byteLength(msg.text) > MAX_TEXT_BYTES) {
      return ack({ error: "bad_message" });
    }
    if (!socket.rooms.has(msg.room)) return ack({ error: "not_joined", room: msg.room, id: msg.id });
    const seq = (counters.get(msg.room) ?? 0) + 1;
    counters.set(msg.room, seq);
    io.to(msg.room).emit("message", { room: msg.room, seq, id: msg.id, from, at: Date.now(), text: msg.text });
    ack({ room: msg.room, id: msg.id, seq });
  });
});

httpServer.listen(Number(args.port), "127.0.0.1", () => {
  console.log(`socketio_server ${args.instance} listening on 127.0.0.1:${args.port} (socket.io, redis adapter on ${args.redis})`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    io.close();
    Promise.allSettled([pubClient.quit(), subClient.quit()]).finally(() => process.exit(0));
  });
}
