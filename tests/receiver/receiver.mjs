// A receiver of RoomReconciler's outbound events, as an application's server would be: every delivery is verified with
// the standardwebhooks package (the specification's own implementation), and recorded for the test to read.
//   node receiver.mjs --port 0 --secret whsec_...      prints "listening on <port>" once it accepts
// Routes: POST /events     a delivery: 400 when it does not verify, else the status the test chose (200 by default)
//         GET  /deliveries every delivery received, verified or not, in arrival order
//         POST /control    {"status": 200|410|500, "failSessions": [id...], "failStatus": 500, "delayMs": 0}: how to answer next
import http from 'node:http';
import { Webhook } from 'standardwebhooks';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, arg, i, all) =>
  arg.startsWith('--') ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs, []));
const webhook = new Webhook(args.secret);
const deliveries = [];
let control = { status: 200, failSessions: [], failStatus: 500, delayMs: 0 };

const read = (request) => new Promise((resolve, reject) => {
  const chunks = [];
  request.on('data', (c) => chunks.push(c));
  request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  request.on('error', reject);
});

const reply = (response, status, body) => {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(body === undefined ? '' : JSON.stringify(body));
};

const server = http.createServer(async (request, response) => {
  const body = await read(request);
  if (request.method === 'GET' && request.url === '/deliveries') return reply(response, 200, deliveries);
  if (request.method === 'POST' && request.url === '/control') {
    control = { ...control, ...JSON.parse(body) };
    return reply(response, 200, control);
  }
  if (request.method !== 'POST' || request.url !== '/events') return reply(response, 404);
  const record = {
    id: request.headers['webhook-id'],
    timestamp: Number(request.headers['webhook-timestamp']),
    signature: request.headers['webhook-signature'],
    receivedAt: Date.now(),
    verified: false,
    error: null,
    payload: null,
    status: 400,
  };
  try {
    record.payload = webhook.verify(body, request.headers);
    record.verified = true;
    record.status = control.failSessions.includes(record.payload?.data?.session_id) ? control.failStatus : control.status;
  } catch (e) {
    record.error = String(e?.message ?? e);
  }
  deliveries.push(record);
  if (control.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, control.delayMs));
  reply(response, record.status);
});

server.listen(Number(args.port ?? 0), '127.0.0.1', () => {
  console.log(`listening on ${server.address().port}`);
});
