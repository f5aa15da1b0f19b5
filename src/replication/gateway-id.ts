// This gateway process's identity in the applier lease: host and pid for an operator, plus a random part
// so a restarted process (same pid in a new container) is never mistaken for its predecessor.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';

export function gatewayId(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}
