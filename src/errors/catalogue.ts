// Every error the gateway answers with itself, in one place, each with a stable code (for logs and for
// operators searching them) and Chroma's error shape on the wire ({"error": kind, "message": text}), so
// clients handle them like any Chroma error. Depends on nothing, so any layer may throw these.

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly kind: string,
    message: string,
    /** Stable identifier, e.g. CHA_STORE_DOWN; never sent to clients (they get Chroma's shape). */
    readonly code: string = 'CHA_UNCODED',
  ) {
    super(message);
  }
}

const error = (code: string, status: number, kind: string) => (message: string) => new HttpError(status, kind, message, code);

const notFound = error('CHA_NOT_FOUND', 404, 'NotFoundError');
const tooLarge = error('CHA_BODY_TOO_LARGE', 413, 'PayloadTooLargeError');
const malformedJson = error('CHA_MALFORMED_JSON', 400, 'InvalidArgumentError');
const badRequest = error('CHA_BAD_HTTP_REQUEST', 400, 'InvalidArgumentError');
const unauthenticated = error('CHA_UNAUTHENTICATED', 401, 'AuthenticationError');
const forbidden = error('CHA_FORBIDDEN', 403, 'AuthorizationError');
const requestTimeout = error('CHA_REQUEST_TIMEOUT', 408, 'RequestTimeoutError');
const headersTooLarge = error('CHA_HEADERS_TOO_LARGE', 431, 'RequestHeaderFieldsTooLargeError');
const conflict = error('CHA_CONFLICT', 409, 'ConflictError');
const invalidArgument = error('CHA_INVALID_ARGUMENT', 400, 'InvalidArgumentError');
const notImplemented = error('CHA_NOT_IMPLEMENTED', 501, 'NotImplementedError');
const clientGone = error('CHA_CLIENT_CLOSED', 499, 'ClientClosedRequest');
const upstream = error('CHA_UPSTREAM_FAILED', 502, 'BadGatewayError');
const noNode = error('CHA_NO_NODE', 503, 'ServiceUnavailableError');
const storeDown = error('CHA_STORE_DOWN', 503, 'ServiceUnavailableError');
const staleView = error('CHA_STALE_VIEW', 503, 'ServiceUnavailableError');
const writeNotApplied = error('CHA_WRITE_NOT_APPLIED', 503, 'ServiceUnavailableError');
const writeUndecided = error('CHA_WRITE_UNDECIDED', 503, 'ServiceUnavailableError');
const maintenanceBusy = error('CHA_MAINTENANCE_BUSY', 409, 'ConflictError');
const timeout = error('CHA_UPSTREAM_TIMEOUT', 504, 'GatewayTimeoutError');
const writeStillApplying = error('CHA_WRITE_STILL_APPLYING', 504, 'GatewayTimeoutError');

export const errors = {
  notFound: (message: string) => notFound(message),
  tooLarge: (limit: number) => tooLarge(`request body exceeds the gateway limit of ${limit} bytes (MAX_BODY_BYTES)`),
  /** As Chroma answers a body that is not JSON at all (wrong types, which only the node checks, get its 422). */
  malformedJson: (detail: string) => malformedJson(`Failed to parse the request body as JSON: ${detail}`),
  badHttpRequest: (detail: string) => badRequest(`malformed HTTP request (${detail})`),
  unauthenticated: (message: string) => unauthenticated(message),
  forbidden: (message: string) => forbidden(message),
  requestTimeout: (seconds: number) => requestTimeout(`the request was not received within ${seconds} s (BODY_TIMEOUT)`),
  headersTooLarge: (limit: number) => headersTooLarge(`the request line and headers exceed the gateway limit of ${limit} bytes`),
  notImplemented: (message: string) => notImplemented(message),
  /** An admin action the cluster's state forbids now (switchover to a behind node, removing the primary, ...). */
  conflict: (message: string) => conflict(message),
  invalidArgument: (message: string) => invalidArgument(message),
  clientGone: () => clientGone('client went away'),
  noNode: (what: string) => noNode(`no healthy Chroma node can serve ${what}`),
  timeout: (node: string, ms: number) => timeout(`node ${node} did not answer within ${ms} ms`),
  upstream: (node: string, detail: string) => upstream(`node ${node} failed: ${detail}`),
  staleView: () =>
    staleView(
      'the replication log store is unreachable, so this gateway cannot show its view of the log is current; retry, or read with X-Chroma-HA-Consistency: eventual',
    ),
  storeDown: () => storeDown('the replication log store is unreachable; writes are refused until it returns'),
  writeUndecided: (seq: number) => writeUndecided(`the replication log store is unreachable; the write (log entry ${seq}) is decided when the store returns`),
  writeNotApplied: (ms: number) => writeNotApplied(`no primary could apply the write within ${ms} ms (WRITE_TIMEOUT); it was not applied`),
  writeStillApplying: (seq: number) => writeStillApplying(`the write (log entry ${seq}) is still being applied; its outcome will be replicated when known`),
  /** One maintenance job (verify, repair, backup, anti-entropy pass) at a time: each reads every record. */
  maintenanceBusy: (running: string, seconds: number) =>
    maintenanceBusy(`a ${running} has been running for ${seconds} s; only one verify, repair, backup or anti-entropy pass runs at a time: retry when it is done`),
};
