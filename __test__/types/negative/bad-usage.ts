// Must NOT compile: each line below is a mistake types.spec.js expects tsc to report.
import * as http from 'http';
import { attach } from 'ferrows';

const wss = attach(http.createServer(), { path: '/ws', maxPayload: '1mb' });
wss.on('connection', (ws) => ws.send({ text: 'objects are not sent' }));
wss.broadcast('hi', { except: 'nobody' });
attach(http.createServer(), { redis: { cluster: 'redis://127.0.0.1:7000' } });
